/**
 * Watches the event loop for stalls: a spider callback that computes for
 * seconds freezes every timer and socket in the process. Timeouts that fire
 * right after such a stall measured the stall, not the server, so the
 * scheduler asks `stalledSince` before blaming a request.
 */
export interface LagMonitor {
  /** Longest stall seen, in ms, including one that has just ended and not been ticked yet. */
  readonly maxLagMs: number;
  /** Whether the loop stalled (or is stalled right now) since `time`. */
  stalledSince(time: number): boolean;
  stop(): void;
}

const TICK_MS = 100;
const KEEP = 32;

/** Starts watching; `onStall` hears of every stall of at least `thresholdMs`. */
export function startLagMonitor(thresholdMs: number, onStall: (ms: number) => void): LagMonitor {
  let last = Date.now();
  let maxLagMs = 0;
  const stalls: number[] = []; // end times of recent stalls
  const timer = setInterval(() => {
    const now = Date.now();
    const lag = now - last - TICK_MS;
    last = now;
    if (lag > maxLagMs) maxLagMs = lag;
    if (lag >= thresholdMs) {
      stalls.push(now);
      if (stalls.length > KEEP) stalls.shift();
      onStall(lag);
    }
  }, TICK_MS);
  timer.unref();
  return {
    get maxLagMs() {
      return Math.max(maxLagMs, Date.now() - last - TICK_MS);
    },
    // A stall still in progress has not been ticked yet: the gap since the last tick shows it.
    stalledSince: (time) => Date.now() - last >= thresholdMs || stalls.some((end) => end >= time),
    stop: () => clearInterval(timer),
  };
}
