package dev.weft.registry.model;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** What a rule matches: an HTTP request or a gRPC call. */
public sealed interface RouteMatch permits RouteMatch.Http, RouteMatch.Grpc {

  /** Header matches, all of which must hold; names in lower case (headers ignore case). */
  List<StringMatch> headers();

  /**
   * The Gateway API's precedence criteria of this kind of match, most significant first; larger is
   * more specific.
   */
  int[] specificity();

  /**
   * An HTTPRoute match.
   *
   * @param path the path match; {@code PathPrefix /} when the route gives none
   * @param method the HTTP method, when it must be one
   * @param headers header matches
   * @param queryParams query parameter matches (names are case-sensitive)
   */
  record Http(
      PathMatch path,
      Optional<String> method,
      List<StringMatch> headers,
      List<StringMatch> queryParams)
      implements RouteMatch {

    public Http {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(method, "method");
      headers = List.copyOf(headers);
      queryParams = List.copyOf(queryParams);
    }

    /** An exact path, then the longest prefix, then a method, then most headers, then queries. */
    @Override
    public int[] specificity() {
      int pathRank =
          switch (path.type()) {
            case EXACT -> 2;
            case PREFIX -> 1;
            case REGULAR_EXPRESSION -> 0;
          };
      return new int[] {
        pathRank,
        path.type() == PathMatch.Type.PREFIX ? path.value().length() : 0,
        method.isPresent() ? 1 : 0,
        headers.size(),
        queryParams.size()
      };
    }
  }

  /**
   * A GRPCRoute match. With neither service nor method, every call matches.
   *
   * @param regularExpression whether service and method are RE2 expressions rather than names
   * @param service the fully qualified service, when it must be one
   * @param method the method, when it must be one
   * @param headers metadata matches
   */
  record Grpc(
      boolean regularExpression,
      Optional<String> service,
      Optional<String> method,
      List<StringMatch> headers)
      implements RouteMatch {

    public Grpc {
      Objects.requireNonNull(service, "service");
      Objects.requireNonNull(method, "method");
      headers = List.copyOf(headers);
    }

    /** The longest service, then the longest method, then most headers. */
    @Override
    public int[] specificity() {
      return new int[] {
        service.map(String::length).orElse(0), method.map(String::length).orElse(0), headers.size()
      };
    }
  }

  /**
   * A path match.
   *
   * @param type how {@code value} matches
   * @param value a path, a prefix of whole segments, or an RE2 expression
   */
  record PathMatch(Type type, String value) {
    public static final PathMatch EVERY_PATH = new PathMatch(Type.PREFIX, "/");

    public PathMatch {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(value, "value");
    }

    /** The Gateway API's path match types. */
    public enum Type {
      EXACT,
      /**
       * Matches whole path segments: {@code /foo} matches {@code /foo/bar}, not {@code /foobar}.
       */
      PREFIX,
      REGULAR_EXPRESSION
    }
  }

  /**
   * A name whose value must match.
   *
   * @param name a header (lower case) or query parameter name
   * @param regularExpression whether {@code value} is an RE2 expression rather than the exact value
   * @param value the value or expression
   */
  record StringMatch(String name, boolean regularExpression, String value) {
    public StringMatch {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
    }
  }
}
