package dev.weft.controller;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.fabric8.kubernetes.api.model.HasMetadata;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The module rules of docs/architecture.md, checked on the compiled classes of every module. */
class ArchitectureTest {

  private static final String[] LIBRARY_PACKAGES = {
    "dev.weft.api..",
    "dev.weft.registry..",
    "dev.weft.distributor..",
    "dev.weft.ca..",
    "dev.weft.demo..",
    "dev.weft.telemetry..",
    "dev.weft.cli.."
  };

  private static JavaClasses weft;

  @BeforeAll
  static void importClasses() {
    weft =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.weft");
  }

  @Test
  void rulesSeeEveryModule() {
    // Guards against rules passing vacuously because a module's classes were not imported.
    assertThat(weft.contain("dev.weft.api.validation.Validated")).isTrue();
    assertThat(weft.contain("dev.weft.registry.MeshRegistry")).isTrue();
    assertThat(weft.contain("dev.weft.distributor.ConfigDistributor")).isTrue();
    assertThat(weft.contain("dev.weft.telemetry.TelemetryCollector")).isTrue();
    assertThat(weft.contain("dev.weft.cli.WeftCli")).isTrue();
    assertThat(weft.contain("dev.weft.controller.WeftApplication")).isTrue();
  }

  @Test
  void libraryModulesDoNotDependOnSpring() {
    noClasses()
        .that()
        .resideInAnyPackage(LIBRARY_PACKAGES)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.springframework..")
        .check(weft);
  }

  @Test
  void libraryModulesDoNotDependOnTheApplication() {
    noClasses()
        .that()
        .resideInAnyPackage(LIBRARY_PACKAGES)
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.weft.controller..")
        .check(weft);
  }

  @Test
  void theApiDependsOnNoOtherModule() {
    noClasses()
        .that()
        .resideInAPackage("dev.weft.api..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.weft.registry..",
            "dev.weft.distributor..",
            "dev.weft.ca..",
            "dev.weft.telemetry..",
            "dev.weft.controller..")
        .check(weft);
  }

  /** The collector receives what proxies report; it knows no other module but the API. */
  @Test
  void theTelemetryCollectorDependsOnlyOnTheApi() {
    noClasses()
        .that()
        .resideInAPackage("dev.weft.telemetry..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.weft.registry..", "dev.weft.distributor..", "dev.weft.ca..", "dev.weft.demo..")
        .check(weft);
  }

  /** Nothing but the application reaches into the collector. */
  @Test
  void onlyTheApplicationUsesTheTelemetryCollector() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "dev.weft.api..",
            "dev.weft.registry..",
            "dev.weft.distributor..",
            "dev.weft.ca..",
            "dev.weft.demo..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.weft.telemetry..")
        .check(weft);
  }

  /**
   * The CLI talks to Weft only through its HTTP API and the Kubernetes API, as a user's machine
   * does: it links no module of the control plane, and none links it but the application.
   */
  @Test
  void theCliIsAClientOfTheControlPlaneOnly() {
    noClasses()
        .that()
        .resideInAPackage("dev.weft.cli..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.weft.api..",
            "dev.weft.registry..",
            "dev.weft.distributor..",
            "dev.weft.ca..",
            "dev.weft.telemetry..",
            "dev.weft.demo..")
        .check(weft);
    noClasses()
        .that()
        .resideInAnyPackage(
            "dev.weft.api..",
            "dev.weft.registry..",
            "dev.weft.distributor..",
            "dev.weft.ca..",
            "dev.weft.telemetry..",
            "dev.weft.demo..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.weft.cli..")
        .check(weft);
  }

  @Test
  void theCertificateAuthorityDependsOnlyOnTheApi() {
    noClasses()
        .that()
        .resideInAPackage("dev.weft.ca..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.weft.registry..", "dev.weft.distributor..")
        .check(weft);
  }

  @Test
  void theRegistryDoesNotKnowItsConsumers() {
    noClasses()
        .that()
        .resideInAPackage("dev.weft.registry..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.weft.distributor..")
        .check(weft);
  }

  /**
   * Kubernetes objects end at the registry: it decodes routes and policies into Weft's own model,
   * and translation reads only that, so no emitter re-validates or re-defaults an object.
   */
  @Test
  void translationAndTheModelReadNoKubernetesObject() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.weft.distributor..", "dev.weft.registry.model..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.fabric8..")
        .orShould()
        .dependOnClassesThat()
        .areAssignableTo(HasMetadata.class)
        .check(weft);
  }

  @Test
  void modulesHaveNoCycles() {
    slices().matching("dev.weft.(*)..").should().beFreeOfCycles().check(weft);
  }
}
