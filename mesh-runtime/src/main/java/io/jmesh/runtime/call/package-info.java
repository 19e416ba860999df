/**
 * The one call driver every client adapter calls: admission, fault injection, the attempt loop
 * and recording, for blocking and asynchronous clients alike; an adapter only sends one attempt
 * when asked.
 */
package io.jmesh.runtime.call;
