package dev.weft.controller;

import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.config.annotation.ViewControllerRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * The service graph page, {@code /ui/}: static files (classpath {@code static/ui/}) that draw
 * {@code GET /api/graph} and show {@code GET /api/services/{namespace}/{name}} for the Service
 * clicked. The page holds no data of its own, so it is open; in a cluster the {@code /api/*} calls
 * it makes need the debug token, which it asks for.
 */
@Configuration(proxyBeanMethods = false)
class ServiceGraphPageConfiguration implements WebMvcConfigurer {

  @Override
  public void addViewControllers(ViewControllerRegistry registry) {
    registry.addRedirectViewController("/", "/ui/");
    registry.addRedirectViewController("/ui", "/ui/");
    registry.addViewController("/ui/").setViewName("forward:/ui/index.html");
  }
}
