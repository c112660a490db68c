/**
 * The leases one worker holds: a taken request stays this worker's while a
 * heartbeat renews its lease every third of the lease time; a worker that
 * dies or stalls stops renewing, and the request goes back to the queue.
 */

/** This worker's leases, renewed until {@link Leases.close}. */
export interface Leases {
  /** A request taken: renewed from now on. */
  hold(id: number): void;
  /** A request settled (or given up): no longer renewed. */
  release(id: number): void;
  /** Forgets them all (the frontier was cleared). */
  clear(): void;
  /** Stops the heartbeat. */
  close(): void;
}

/**
 * Starts the heartbeat: every `leaseMs / 3`, `extend` renews the leases held
 * and answers the ids this worker lost meanwhile (taken over by another
 * after an expiration), which are forgotten.
 */
export function holdLeases(leaseMs: number, extend: (ids: string[]) => Promise<string[]>): Leases {
  const held = new Set<string>();
  let beating = false;
  const beat = async () => {
    if (beating || held.size === 0) return;
    beating = true;
    try {
      for (const id of await extend([...held])) held.delete(id);
    } catch {
      // Redis unreachable: the next pop or settle reports it; a lease lost meanwhile only costs a refetch.
    } finally {
      beating = false;
    }
  };
  const heartbeat = setInterval(() => void beat(), Math.floor(leaseMs / 3));
  heartbeat.unref();
  return {
    hold: (id) => void held.add(String(id)),
    release: (id) => void held.delete(String(id)),
    clear: () => held.clear(),
    close: () => clearInterval(heartbeat),
  };
}
