package dev.weft.benchmarks;

/** One line describing where a benchmark ran, printed with its figures. */
final class Machine {

  private Machine() {}

  static String describe() {
    Runtime runtime = Runtime.getRuntime();
    return String.format(
        java.util.Locale.ROOT,
        "%s %s, %d cores, max heap %d MiB, Java %s (%s)",
        System.getProperty("os.name"),
        System.getProperty("os.arch"),
        runtime.availableProcessors(),
        runtime.maxMemory() / (1024 * 1024),
        System.getProperty("java.version"),
        System.getProperty("java.vm.name"));
  }
}
