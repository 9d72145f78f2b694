package dev.weft.distributor;

/**
 * What one xDS client may ask of the control plane: how many resource names one request may carry,
 * how many a stream may be subscribed to at once, and how long a name may be. A client that asks
 * for more has its stream ended (see {@link AdsStream}), so that no client can make the control
 * plane hold an unbounded amount of its input.
 *
 * <p>The messages name the settings that raise the limits, as an operator would give them.
 *
 * @param namesPerRequest the most resource names one request may carry (a state-of-the-world
 *     request's names; a delta request's subscriptions, unsubscriptions and initial versions; a
 *     load report's clusters)
 * @param namesPerStream the most names a stream may be subscribed to, over all types
 * @param nameLength the longest a resource name may be, in bytes of UTF-8
 */
record StreamLimits(int namesPerRequest, int namesPerStream, int nameLength) {

  /**
   * The largest real meshes have about 5,000 Services; a proxy that watches every one of them, by
   * two names per Service (a Listener by its short and its canonical name, or a Service with two
   * ports), names 10,000 resources of a type in one request.
   */
  static final int DEFAULT_NAMES_PER_REQUEST = 10_000;

  /** That proxy, for each of the four types it subscribes to. */
  static final int DEFAULT_NAMES_PER_STREAM = 4 * DEFAULT_NAMES_PER_REQUEST;

  /**
   * The longest name that can refer to anything Weft serves is a canonical name with a DNS name of
   * the maximum 253 bytes and a port: 259 bytes. Twice that leaves room, and bounds what a stream
   * at its name limits holds: 40,000 names of 512 bytes are about 31 MB of heap (measured with
   * {@code FloodHeapMain}; 12 MB with names of 50 bytes, as real ones are); names of 1 KiB would
   * add another 20 MB.
   */
  static final int DEFAULT_NAME_LENGTH = 512;

  static final StreamLimits DEFAULTS =
      new StreamLimits(DEFAULT_NAMES_PER_REQUEST, DEFAULT_NAMES_PER_STREAM, DEFAULT_NAME_LENGTH);

  static final String NAMES_PER_REQUEST_SETTING = "weft.xds.limits.max-names-per-request";
  static final String NAMES_PER_STREAM_SETTING = "weft.xds.limits.max-names-per-stream";
  static final String NAME_LENGTH_SETTING = "weft.xds.limits.max-name-length";

  StreamLimits {
    positive("namesPerRequest", namesPerRequest);
    positive("namesPerStream", namesPerStream);
    positive("nameLength", nameLength);
    if (namesPerStream < namesPerRequest) {
      throw new IllegalArgumentException(
          "maxNamesPerStream ("
              + namesPerStream
              + ") must not be smaller than maxNamesPerRequest ("
              + namesPerRequest
              + "): a stream could not subscribe to what one request may name");
    }
  }

  static int positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1: " + value);
    }
    return value;
  }

  String tooManyNames(int names) {
    return "a request may name at most "
        + namesPerRequest
        + " resources ("
        + NAMES_PER_REQUEST_SETTING
        + "); this one names "
        + names;
  }

  String tooManySubscriptions(int names) {
    return "a stream may be subscribed to at most "
        + namesPerStream
        + " resource names ("
        + NAMES_PER_STREAM_SETTING
        + "); this request would make it "
        + names;
  }

  String nameTooLong(int bytes) {
    return "a resource name may be at most "
        + nameLength
        + " bytes long ("
        + NAME_LENGTH_SETTING
        + "); this request names one of "
        + bytes;
  }

  String tooManyClusters(int clusters) {
    return "a load report may carry at most "
        + namesPerRequest
        + " clusters ("
        + NAMES_PER_REQUEST_SETTING
        + "); this one carries "
        + clusters;
  }
}
