package dev.weft.api.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MeshTlsPolicyValidationTest {

  @Test
  void withoutTargetsAPolicyCoversItsNamespace() {
    MeshTLSPolicy policy = policy("a", "mode: STRICT\n");

    MeshTlsValues values = valid(policy);
    assertThat(values.mode()).isEqualTo(MutualTlsMode.STRICT);
    assertThat(values.targets()).isEmpty();
    assertThat(policy.namespaceWide()).isTrue();
  }

  @Test
  void withTargetsItCoversThoseServices() {
    MeshTlsValues values =
        valid(
            policy(
                "a", "mode: DISABLE\ntargetRefs: [{group: \"\", kind: Service, name: legacy}]\n"));

    assertThat(values.targets())
        .containsExactly(new PolicyTarget("shop", "legacy", Optional.empty()));
  }

  @Test
  void aModeIsRequiredAndSectionsAreRefused() {
    assertThat(
            PolicyValidator.validate(
                    policy(
                        "a",
                        "targetRefs: [{group: \"\", kind: Service, name: legacy, sectionName:"
                            + " x}]\n"))
                .errors())
        .containsExactlyInAnyOrder(
            new FieldError("spec.mode", "required: STRICT, PERMISSIVE or DISABLE"),
            new FieldError(
                "spec.targetRefs[0].sectionName",
                "a MeshTLSPolicy applies to a whole Service: its servers and their callers"));
  }

  @Test
  void anEmptyTargetItemIsRequired() {
    assertThat(PolicyValidator.validate(policy("a", "mode: STRICT\ntargetRefs: [null]\n")).errors())
        .containsExactly(new FieldError("spec.targetRefs[0]", "required"));
  }

  @Test
  void twoPoliciesForTheSameNamespaceConflictAndTheOldestWins() {
    MeshTLSPolicy older = policy("older", "mode: STRICT\n");
    older.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
    MeshTLSPolicy newer = policy("newer", "mode: DISABLE\n");
    newer.getMetadata().setCreationTimestamp("2026-02-01T00:00:00Z");

    List<PolicyConflicts.Resolution<MeshPolicy>> resolutions =
        PolicyConflicts.resolve(List.of(newer, older));

    assertThat(resolutions).hasSize(1);
    assertThat(resolutions.get(0).target()).isEqualTo(PolicyTarget.wholeNamespace("shop"));
    assertThat(resolutions.get(0).accepted()).isSameAs(older);
    assertThat(resolutions.get(0).conflicted().get(0).reason())
        .contains("also targets every Service of namespace shop");
  }

  private static MeshTLSPolicy policy(String name, String spec) {
    return Policies.SERIALIZATION.unmarshal(
        "apiVersion: mesh.weft.dev/v1alpha1\nkind: MeshTLSPolicy\nmetadata: {name: "
            + name
            + ", namespace: shop}\nspec:\n"
            + spec.indent(2),
        MeshTLSPolicy.class);
  }

  private static MeshTlsValues valid(MeshTLSPolicy policy) {
    Validated<MeshTlsValues> result = PolicyValidator.validate(policy);
    assertThat(result.errors()).isEmpty();
    return ((Validated.Valid<MeshTlsValues>) result).value();
  }
}
