/** Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): the n-th delay is uniform in [min, min(max, min * 2^n)], so that clients that lost
 * the server together do not come back together. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(minMs > 0) || !(maxMs >= minMs)) throw new RangeError("backoff needs 0 < min <= max");
  }

  nextDelayMs(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.round(this.minMs + this.random() * (ceiling - this.minMs));
  }

  reset(): void {
    this.attempt = 0;
  }
}
