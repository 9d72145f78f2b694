package dev.weft.controller;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Lets through only the debug requests {@link DebugAccess} allows; the others get 401 or 403 and
 * one line saying what to do. Refusals are logged at DEBUG: a scanner must not fill the logs.
 */
final class DebugAccessFilter extends OncePerRequestFilter {

  private static final Logger log = LoggerFactory.getLogger(DebugAccessFilter.class);

  private final DebugAccess access;

  DebugAccessFilter(DebugAccess access) {
    this.access = access;
  }

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    DebugAccess.Verdict verdict = access.check(request.getHeader("Authorization"));
    if (verdict instanceof DebugAccess.Verdict.Refused refused) {
      log.debug(
          "refused {} from {}: {}", request.getRequestURI(), request.getRemoteAddr(), refused);
      response.setStatus(refused.httpStatus());
      response.setContentType(MediaType.APPLICATION_JSON_VALUE);
      response.getWriter().write("{\"error\":" + quote(refused.reason()) + "}");
      return;
    }
    chain.doFilter(request, response);
  }

  private static String quote(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
