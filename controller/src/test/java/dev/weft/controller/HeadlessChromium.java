package dev.weft.controller;

import java.io.File;
import java.nio.file.Path;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real browser for page tests: Debian's headless Chromium and its driver ({@code chromium},
 * {@code chromium-driver}; {@code .ci/run} installs them), given by path so that Selenium Manager
 * never runs: it would try to download a browser.
 */
final class HeadlessChromium implements AutoCloseable {

  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  private final ChromeDriverService service;
  private final ChromeDriver browser;

  private HeadlessChromium(ChromeDriverService service, ChromeDriver browser) {
    this.service = service;
    this.browser = browser;
  }

  static HeadlessChromium start() {
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .withLogFile(new File("target/chromedriver.log"))
            .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000");
    try {
      return new HeadlessChromium(service, new ChromeDriver(service, options));
    } catch (RuntimeException e) {
      service.stop();
      throw e;
    }
  }

  WebDriver driver() {
    return browser;
  }

  @Override
  public void close() {
    try {
      browser.quit();
    } finally {
      service.stop();
    }
  }
}
