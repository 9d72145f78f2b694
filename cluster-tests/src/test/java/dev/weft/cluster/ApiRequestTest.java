package dev.weft.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The HTTP request to RBAC terms mapping the chart's RBAC checks rely on. */
class ApiRequestTest {

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource(
      delimiter = '|',
      nullValues = "-",
      textBlock =
          """
          # method | path                                                       | verb             | group                     | resource              | namespace   | name
          # Core group, namespaced: collection, watch (both spellings), one object.
          GET    | /api/v1/namespaces/shop/pods                               | list             | ''                        | pods                  | shop        | -
          GET    | /api/v1/namespaces/shop/pods?watch=true&resourceVersion=7  | watch            | ''                        | pods                  | shop        | -
          GET    | /api/v1/namespaces/shop/pods?resourceVersion=7&watch=1     | watch            | ''                        | pods                  | shop        | -
          GET    | /api/v1/namespaces/shop/pods?watch=false                   | list             | ''                        | pods                  | shop        | -
          GET    | /api/v1/namespaces/shop/pods/web-0                         | get              | ''                        | pods                  | shop        | web-0
          # Across all namespaces (an informer without a namespace).
          GET    | /api/v1/services                                           | list             | ''                        | services              | -           | -
          GET    | /api/v1/services?allowWatchBookmarks=true&watch=true       | watch            | ''                        | services              | -           | -
          # The old /watch/ path form.
          GET    | /api/v1/watch/namespaces/shop/services                     | watch            | ''                        | services              | shop        | -
          # Named groups.
          GET    | /apis/discovery.k8s.io/v1/endpointslices?watch=true        | watch            | discovery.k8s.io          | endpointslices        | -           | -
          GET    | /apis/mesh.weft.dev/v1alpha1/namespaces/shop/trafficpolicies/slow | get       | mesh.weft.dev             | trafficpolicies       | shop        | slow
          # Writes.
          POST   | /apis/coordination.k8s.io/v1/namespaces/weft-system/leases | create           | coordination.k8s.io       | leases                | weft-system | -
          PUT    | /apis/coordination.k8s.io/v1/namespaces/weft-system/leases/weft-leader | update | coordination.k8s.io  | leases                | weft-system | weft-leader
          PATCH  | /api/v1/namespaces/shop/configmaps/weft-ca-root-cert       | patch            | ''                        | configmaps            | shop        | weft-ca-root-cert
          DELETE | /api/v1/namespaces/shop/pods/web-0                         | delete           | ''                        | pods                  | shop        | web-0
          DELETE | /api/v1/namespaces/shop/pods                               | deletecollection | ''                        | pods                  | shop        | -
          # Subresources.
          PUT    | /apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/canary/status | update | gateway.networking.k8s.io | httproutes/status | shop | canary
          POST   | /api/v1/namespaces/shop/pods/web-0/eviction                | create           | ''                        | pods/eviction         | shop        | web-0
          # Cluster-scoped resources, Namespaces themselves among them.
          POST   | /apis/authentication.k8s.io/v1/tokenreviews                | create           | authentication.k8s.io     | tokenreviews          | -           | -
          GET    | /api/v1/namespaces                                         | list             | ''                        | namespaces            | -           | -
          GET    | /api/v1/namespaces?watch=true                              | watch            | ''                        | namespaces            | -           | -
          GET    | /api/v1/namespaces/shop                                    | get              | ''                        | namespaces            | -           | shop
          PUT    | /api/v1/namespaces/shop/status                             | update           | ''                        | namespaces/status     | -           | shop
          GET    | /apis/rbac.authorization.k8s.io/v1/clusterroles/weft       | get              | rbac.authorization.k8s.io | clusterroles          | -           | weft
          # One object by field selector (Fabric8's withName(...).watch()) is about that object.
          GET    | /api/v1/namespaces/shop/configmaps?fieldSelector=metadata.name%3Dweft-ca-root-cert&watch=true | watch | '' | configmaps | shop | weft-ca-root-cert
          GET    | /api/v1/namespaces/shop/configmaps?fieldSelector=metadata.name%3D%3Dx | list | ''              | configmaps            | shop        | x
          """)
  void resourceRequests(
      String method,
      String path,
      String verb,
      String group,
      String resource,
      String namespace,
      String name) {
    assertThat(ApiRequest.of(method, path))
        .isEqualTo(new ApiRequest(verb, group, resource, namespace, name));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "GET, /version, get, /version",
    "GET, /api, get, /api",
    "GET, /api/v1, get, /api/v1",
    "GET, /apis, get, /apis",
    "GET, /apis/mesh.weft.dev/v1alpha1, get, /apis/mesh.weft.dev/v1alpha1",
    "GET, /openapi/v3/apis/apps/v1?hash=ab, get, /openapi/v3/apis/apps/v1",
    "POST, /healthz, post, /healthz",
  })
  void nonResourceRequests(String method, String path, String verb, String url) {
    ApiRequest request = ApiRequest.of(method, path);

    assertThat(request.isResourceRequest()).isFalse();
    assertThat(request).isEqualTo(ApiRequest.nonResource(verb, url));
  }

  @ParameterizedTest
  @CsvSource({"OPTIONS, /api/v1/pods", "GET, /api/v1/watch"})
  void refusesWhatIsNoApiRequest(String method, String path) {
    assertThatThrownBy(() -> ApiRequest.of(method, path))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
