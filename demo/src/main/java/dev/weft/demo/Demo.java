package dev.weft.demo;

/** Placeholder replaced below. */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) {}
}
