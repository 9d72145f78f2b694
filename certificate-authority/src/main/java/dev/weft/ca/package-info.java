/** Weft's certificate authority: SPIFFE X.509-SVIDs for authenticated workloads. */
package dev.weft.ca;
