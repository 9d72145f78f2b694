package dev.weft.ca;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The root rotation state machine, as pure functions of (state, now): no clock, no I/O, so tests
 * drive it through any sequence of instants.
 *
 * <pre>
 * steady:   ACTIVE(old)                                    bundle {old}
 * begin:    ACTIVE(old) + PENDING(new)                     bundle {old, new}, old signs
 *   ... propagation delay (or an explicit step): every workload renews once and so learns new
 * switch:   RETIRING(old, removeAfter) + ACTIVE(new)       bundle {old, new}, new signs
 *   ... removeAfter: the longest leaf old can have signed has expired
 * steady:   ACTIVE(new)                                    bundle {new}
 * </pre>
 *
 * <p>{@code removeAfter} is the switch instant plus the maximum leaf lifetime (capped at the old
 * root's own expiry): every leaf the old root signed was issued before the switch with at most that
 * lifetime, so this bound holds without recording each leaf.
 *
 * @param propagationDelay how long a new root is in the bundle before it signs
 * @param maxLeafLifetime the longest lifetime a leaf can have
 * @param rotateAt the fraction of the active root's lifetime after which a rotation begins
 * @param mode whether {@link #advance} begins rotations by itself
 */
record RootRotation(
    Duration propagationDelay, Duration maxLeafLifetime, double rotateAt, Mode mode) {

  /** Whether rotations begin by themselves. */
  enum Mode {
    /** At {@code rotateAt} of the root's lifetime, and on demand. */
    AUTOMATIC,
    /** On demand only: a plugged-in intermediate, whose root key this CA does not hold. */
    ON_DEMAND
  }

  /**
   * Rotate after two thirds of the root's life: the remaining third leaves room for the propagation
   * delay, the longest leaf, and a failed attempt or two, long before expiry.
   */
  static final double DEFAULT_ROTATE_AT = 2.0 / 3.0;

  /** The state at {@code now}: retiring roots past their time leave, due switches happen. */
  CaState advance(CaState state, Instant now, Supplier<Authority> newRoot) {
    List<Authority> next = new ArrayList<>();
    for (Authority authority : state.authorities()) {
      if (authority.status() == Authority.Status.RETIRING
          && !now.isBefore(authority.removeAfter())) {
        continue;
      }
      next.add(authority);
    }
    CaState pruned = new CaState(next);
    if (pruned.pending().isPresent()) {
      Authority pending = pruned.pending().get();
      if (!now.isBefore(pending.since().plus(propagationDelay))) {
        return switchSigning(pruned, now);
      }
      return pruned;
    }
    if (mode == Mode.AUTOMATIC && now.isAfter(rotationDue(pruned.active()))) {
      return begin(pruned, now, newRoot);
    }
    return pruned;
  }

  /** When the automatic rotation of {@code active} begins. */
  Instant rotationDue(Authority active) {
    Instant notBefore = active.notBefore();
    long lifeMillis = Duration.between(notBefore, active.notAfter()).toMillis();
    return notBefore.plusMillis((long) (lifeMillis * rotateAt));
  }

  /** Adds a new root to the bundle, not signing yet; a no-op while one is already pending. */
  CaState begin(CaState state, Instant now, Supplier<Authority> newRoot) {
    if (state.pending().isPresent()) {
      return state;
    }
    List<Authority> next = new ArrayList<>(state.authorities());
    next.add(newRoot.get().withStatus(Authority.Status.PENDING, now, Instant.MAX));
    return new CaState(next);
  }

  /** Makes the pending root sign now; the active one retires. A no-op when none is pending. */
  CaState switchSigning(CaState state, Instant now) {
    if (state.pending().isEmpty()) {
      return state;
    }
    List<Authority> next = new ArrayList<>();
    for (Authority authority : state.authorities()) {
      switch (authority.status()) {
        case PENDING -> next.add(authority.withStatus(Authority.Status.ACTIVE, now, Instant.MAX));
        case ACTIVE -> {
          Instant removeAfter = now.plus(maxLeafLifetime);
          if (removeAfter.isAfter(authority.notAfter())) {
            removeAfter = authority.notAfter();
          }
          next.add(authority.withStatus(Authority.Status.RETIRING, now, removeAfter));
        }
        case RETIRING -> next.add(authority);
      }
    }
    return new CaState(next);
  }
}
