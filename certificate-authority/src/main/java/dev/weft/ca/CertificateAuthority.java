package dev.weft.ca;

import dev.weft.api.validation.Validated;
import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * The CA: issues X.509-SVIDs to authenticated identities and rotates its root.
 *
 * <p>Thread-safety: the whole signing state is one immutable {@link CaState} in a volatile field.
 * {@link #issue} reads it once and never locks, so any number of threads sign concurrently. The
 * methods that change it ({@link #tick}, {@link #beginRootRotation}, {@link #switchSigningNow},
 * {@link #reload}) are synchronized: one writer at a time, which persists a new state before
 * publishing it, so what signs is always what a restart would load.
 *
 * <p>Lifetimes: a request without one gets the default (1 hour). One over the configured maximum is
 * refused, not capped, with a message naming both, so a misconfigured workload finds out at once
 * rather than renewing more often than it thinks. Leaves never outlive their issuer.
 *
 * <p>Replicas: every replica signs with the stored state; root creation is create-if-absent in the
 * store. Only one replica (the leader) should call {@link #tick}; the others call {@link #reload}
 * to follow its rotations.
 */
public final class CertificateAuthority {

  static final String VALIDITY = "validity";

  private final TrustDomain trustDomain;
  private final Clock clock;
  private final Duration defaultLifetime;
  private final Duration maxLifetime;
  private final Duration rootLifetime;
  private final RootRotation rotation;
  private final KeyMaterialStore store;
  private final CaMetrics metrics;
  private final AuthorityInfo.Kind kind;
  private volatile CaState state;

  /** Derived from {@link #state} at each publication; read with it, never locked. */
  private volatile Signing signing;

  /** What {@link #issue} needs from a state, computed once per state. */
  private record Signing(
      LeafSigner.Issuer issuer,
      List<X509Certificate> intermediates,
      List<X509Certificate> trustBundle) {
    static Signing of(CaState state) {
      Authority active = state.active();
      return new Signing(LeafSigner.Issuer.of(active), active.intermediates(), state.trustBundle());
    }
  }

  private CertificateAuthority(Builder builder, CaState initial) {
    this.trustDomain = builder.trustDomain;
    this.clock = builder.clock;
    this.defaultLifetime = builder.defaultLifetime;
    this.maxLifetime = builder.maxLifetime;
    this.rootLifetime = builder.rootLifetime;
    this.store = builder.store;
    this.metrics = builder.metrics;
    this.kind =
        builder.intermediateCertificate == null
            ? AuthorityInfo.Kind.ROOT
            : AuthorityInfo.Kind.INTERMEDIATE;
    this.rotation =
        new RootRotation(
            builder.propagationDelay,
            builder.maxLifetime,
            builder.rotateAt,
            kind == AuthorityInfo.Kind.ROOT
                ? RootRotation.Mode.AUTOMATIC
                : RootRotation.Mode.ON_DEMAND);
    this.state = initial;
    this.signing = Signing.of(initial);
  }

  public static Builder builder() {
    return new Builder();
  }

  public TrustDomain trustDomain() {
    return trustDomain;
  }

  public Duration defaultLifetime() {
    return defaultLifetime;
  }

  public Duration maxLifetime() {
    return maxLifetime;
  }

  /** The roots a peer must trust now; during a root rotation, the old and the new. */
  public List<X509Certificate> trustBundle() {
    return signing.trustBundle();
  }

  /**
   * Issues an SVID for {@code caller} over the key of {@code csrDer}, valid for {@code validity}
   * (the default when null). The SPIFFE ID is {@code caller}'s; a CSR asking for another is
   * refused. Refusals are values naming the field ({@code csr}, {@code csr.signature}, {@code
   * csr.publicKey}, {@code csr.subjectAltName}, {@code validity}); see {@link RefusalReason#of}.
   */
  public Validated<Svid> issue(WorkloadIdentity caller, byte[] csrDer, Duration validity) {
    Objects.requireNonNull(caller, "caller");
    long start = System.nanoTime();
    Duration lifetime = validity == null ? defaultLifetime : validity;
    String spiffeId = caller.spiffeId(trustDomain);
    Validated<SubjectPublicKeyInfo> key =
        lifetimeProblem(lifetime)
            .<Validated<SubjectPublicKeyInfo>>map(reason -> Validated.invalid(VALIDITY, reason))
            .orElseGet(() -> CsrValidator.validate(csrDer, spiffeId));
    if (!(key instanceof Validated.Valid<SubjectPublicKeyInfo> valid)) {
      metrics.refused(RefusalReason.of(key.errors().get(0)));
      return Validated.invalid(key.errors());
    }
    Svid svid = sign(signing, spiffeId, List.of(), valid.value(), lifetime);
    metrics.issued(caller, System.nanoTime() - start);
    return Validated.valid(svid);
  }

  /**
   * Issues an SVID for {@code identity} over a key generated here, for the control plane's own
   * certificates (its CSR server, its xDS server); {@code dnsNames} are added as DNS SANs after the
   * SPIFFE ID. Valid for the default lifetime: renew it at half-life like a workload.
   */
  public SvidWithKey issueOwn(WorkloadIdentity identity, List<String> dnsNames) {
    KeyPair keys = Crypto.newP256KeyPair();
    Svid svid =
        sign(
            signing,
            identity.spiffeId(trustDomain),
            List.copyOf(dnsNames),
            SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()),
            defaultLifetime);
    return new SvidWithKey(svid, keys.getPrivate());
  }

  private Svid sign(
      Signing current,
      String spiffeId,
      List<String> dnsNames,
      SubjectPublicKeyInfo key,
      Duration lifetime) {
    X509Certificate leaf =
        LeafSigner.sign(
            current.issuer(), trustDomain, spiffeId, dnsNames, key, clock.instant(), lifetime);
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(leaf);
    chain.addAll(current.intermediates());
    return new Svid(spiffeId, chain, current.trustBundle());
  }

  private Optional<String> lifetimeProblem(Duration lifetime) {
    if (lifetime.isNegative() || lifetime.isZero()) {
      return Optional.of("must be positive, was " + lifetime.toSeconds() + "s");
    }
    if (lifetime.compareTo(maxLifetime) > 0) {
      return Optional.of(
          "asks for "
              + lifetime.toSeconds()
              + "s, over this CA's maximum of "
              + maxLifetime.toSeconds()
              + "s; ask for at most that, or leave it unset for the default "
              + defaultLifetime.toSeconds()
              + "s");
    }
    return Optional.empty();
  }

  /**
   * Advances the root rotation to now: begins one when the active root has passed two thirds of its
   * life, switches signing once a new root has been in the bundle for the propagation delay, and
   * drops a retired root once the last leaf it signed has expired. Persists any change before it
   * takes effect. Call it periodically (every minute is plenty) on the leader only.
   */
  public synchronized void tick() throws IOException {
    publish(rotation.advance(state, clock.instant(), this::newRoot));
    reportExpiry();
  }

  /**
   * Begins a root rotation now, on demand: a new root joins the trust bundle; signing switches
   * after the propagation delay (at a later {@link #tick}) or at {@link #switchSigningNow}.
   */
  public synchronized Validated<AuthorityInfo> beginRootRotation() throws IOException {
    if (kind == AuthorityInfo.Kind.INTERMEDIATE) {
      return Validated.invalid(
          "rotation",
          "this CA signs with a plugged-in intermediate, whose root it does not hold; replace"
              + " the intermediate's files instead");
    }
    publish(rotation.begin(state, clock.instant(), this::newRoot));
    return Validated.valid(info(state.pending().orElseThrow()));
  }

  /**
   * The explicit step: the pending root signs from now on, without waiting for the propagation
   * delay. For operators who know every workload has the new bundle, and for tests.
   */
  public synchronized Validated<AuthorityInfo> switchSigningNow() throws IOException {
    if (state.pending().isEmpty()) {
      return Validated.invalid("rotation", "no root rotation is in progress");
    }
    publish(rotation.switchSigning(state, clock.instant()));
    return Validated.valid(info(state.active()));
  }

  /** Re-reads the stored state, to follow the leader's rotations. */
  public synchronized void reload() throws IOException {
    if (store != null && kind == AuthorityInfo.Kind.ROOT) {
      Optional<Map<String, String>> stored = store.load();
      if (stored.isPresent()) {
        CaState loaded = CaState.decode(stored.get());
        signing = Signing.of(loaded);
        state = loaded;
      }
    }
  }

  /** Every signing certificate the CA holds now, for operators and expiry gauges. */
  public List<AuthorityInfo> authorities() {
    List<AuthorityInfo> out = new ArrayList<>();
    for (Authority authority : state.authorities()) {
      out.add(info(authority));
    }
    return List.copyOf(out);
  }

  private AuthorityInfo info(Authority authority) {
    return new AuthorityInfo(
        authority.certificate().getSubjectX500Principal().getName(),
        kind,
        authority.status().name(),
        authority.notAfter());
  }

  private void reportExpiry() {
    Instant now = clock.instant();
    for (Authority authority : state.authorities()) {
      metrics.authorityExpiry(
          info(authority), Duration.between(now, authority.notAfter()).toSeconds());
    }
  }

  private Authority newRoot() {
    return Roots.newRoot(trustDomain, clock, rootLifetime);
  }

  private void publish(CaState next) throws IOException {
    if (next.equals(state)) {
      return;
    }
    if (store != null && kind == AuthorityInfo.Kind.ROOT) {
      store.replace(next.encode());
    }
    signing = Signing.of(next);
    state = next;
  }

  /**
   * Settings of a CA; {@link #build} rejects inconsistent ones at once. Defaults: trust domain
   * {@code cluster.local}, leaves 1 hour (at most 24 hours), roots one year, rotating at two thirds
   * of that, a new root signing 24 hours after it joined the bundle.
   */
  public static final class Builder {
    private TrustDomain trustDomain = TrustDomain.DEFAULT;
    private Clock clock = Clock.systemUTC();
    private Duration defaultLifetime = Duration.ofHours(1);
    private Duration maxLifetime = Duration.ofHours(24);

    /**
     * One year: long enough that a root is not churned, short enough that automatic rotation is
     * exercised in every long-running mesh rather than once a decade.
     */
    private Duration rootLifetime = Duration.ofDays(365);

    /**
     * Workloads renew at half-life and learn the bundle with each renewal, so after one maximum
     * lifetime every workload trusts the new root. This default equals the default maximum.
     */
    private Duration propagationDelay = Duration.ofHours(24);

    private double rotateAt = RootRotation.DEFAULT_ROTATE_AT;
    private KeyMaterialStore store;
    private Path intermediateCertificate;
    private Path intermediateKey;
    private Path intermediateChain;
    private CaMetrics metrics = CaMetrics.NONE;

    private Builder() {}

    public Builder trustDomain(TrustDomain value) {
      trustDomain = Objects.requireNonNull(value);
      return this;
    }

    public Builder clock(Clock value) {
      clock = Objects.requireNonNull(value);
      return this;
    }

    public Builder defaultLifetime(Duration value) {
      defaultLifetime = Objects.requireNonNull(value);
      return this;
    }

    public Builder maxLifetime(Duration value) {
      maxLifetime = Objects.requireNonNull(value);
      return this;
    }

    public Builder rootLifetime(Duration value) {
      rootLifetime = Objects.requireNonNull(value);
      return this;
    }

    public Builder propagationDelay(Duration value) {
      propagationDelay = Objects.requireNonNull(value);
      return this;
    }

    /** The fraction of a root's lifetime after which its rotation begins by itself. */
    public Builder rotateAt(double fraction) {
      rotateAt = fraction;
      return this;
    }

    /** Where the self-signed root and the rotation state are kept. */
    public Builder store(KeyMaterialStore value) {
      store = Objects.requireNonNull(value);
      return this;
    }

    /**
     * Signs with a plugged-in intermediate instead of a root of its own: its certificate, key and
     * the chain above it (up to the root; may be null when the certificate is itself trusted).
     */
    public Builder intermediate(Path certificate, Path key, Path chain) {
      intermediateCertificate = Objects.requireNonNull(certificate);
      intermediateKey = Objects.requireNonNull(key);
      intermediateChain = chain;
      return this;
    }

    public Builder metrics(CaMetrics value) {
      metrics = Objects.requireNonNull(value);
      return this;
    }

    /**
     * Loads the stored CA, or creates a root and stores it when there is none (create-if-absent, so
     * of replicas starting together all end up with the first one's root).
     *
     * @throws IllegalArgumentException on inconsistent settings
     * @throws IOException when the store or the intermediate's files cannot be read or written
     */
    public CertificateAuthority build() throws IOException {
      check(
          !defaultLifetime.isNegative() && !defaultLifetime.isZero(),
          "defaultLifetime must be positive");
      check(
          maxLifetime.compareTo(defaultLifetime) >= 0,
          "maxLifetime " + maxLifetime + " is below defaultLifetime " + defaultLifetime);
      check(rotateAt > 0 && rotateAt < 1, "rotateAt must be between 0 and 1, was " + rotateAt);
      check(!propagationDelay.isNegative(), "propagationDelay must not be negative");
      Duration reserve = Duration.ofMillis((long) (rootLifetime.toMillis() * (1 - rotateAt)));
      check(
          reserve.compareTo(propagationDelay.plus(maxLifetime)) > 0,
          "a root rotation must finish before the root expires: the last "
              + reserve
              + " of rootLifetime must exceed propagationDelay + maxLifetime");
      CaState initial;
      if (intermediateCertificate != null) {
        initial =
            new CaState(
                List.of(
                    Roots.loadIntermediate(
                        intermediateCertificate, intermediateKey, intermediateChain, clock)));
      } else {
        check(store != null, "a CA with its own root needs a store (directory or Secret)");
        Optional<Map<String, String>> stored = store.load();
        if (stored.isPresent()) {
          initial = CaState.decode(stored.get());
        } else {
          CaState fresh = new CaState(List.of(Roots.newRoot(trustDomain, clock, rootLifetime)));
          initial = CaState.decode(store.createIfAbsent(fresh.encode()));
        }
      }
      return new CertificateAuthority(this, initial);
    }

    private static void check(boolean condition, String message) {
      if (!condition) {
        throw new IllegalArgumentException(message);
      }
    }
  }
}
