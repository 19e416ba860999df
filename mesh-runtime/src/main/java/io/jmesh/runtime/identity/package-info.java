/**
 * Mesh identity: who this workload is ({@link io.jmesh.runtime.identity.SpiffeId}), the
 * certificate that proves it ({@link io.jmesh.runtime.identity.WorkloadCertificate}, obtained and
 * renewed by {@link io.jmesh.runtime.identity.IdentityManager} from the controller's CA, its key
 * generated in memory and never written anywhere), and the TLS contexts that present it and check
 * peers against the mesh's trust anchors and the identities expected of them ({@link
 * io.jmesh.runtime.identity.MeshTls}). Security fails closed: without a valid certificate no
 * mesh handshake succeeds, and every refusal is counted ({@link
 * io.jmesh.runtime.identity.TlsRefusals}).
 */
package io.jmesh.runtime.identity;
