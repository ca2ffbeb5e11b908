// Polls while at least one consumer is visible, and not at all otherwise (the Environment view and report
// both want fresh GPU readings, but nothing should run while neither is on screen).

export interface Timers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const realTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export class VisibilityPoller {
  private readonly visible = new Set<string>();
  private handle: unknown;
  private running = false;

  constructor(
    private readonly tick: () => Promise<void> | void,
    private intervalMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  get polling(): boolean {
    return this.handle !== undefined;
  }

  /** Marks a consumer visible or hidden; starts or stops the timer as needed. Becoming visible ticks at once. */
  setVisible(consumer: string, visible: boolean): void {
    const before = this.visible.size;
    if (visible) this.visible.add(consumer);
    else this.visible.delete(consumer);
    if (before === 0 && this.visible.size > 0) {
      void this.runTick();
      this.start();
    } else if (this.visible.size === 0) {
      this.stop();
    }
  }

  setInterval(ms: number): void {
    this.intervalMs = ms;
    if (this.polling) {
      this.stop();
      this.start();
    }
  }

  dispose(): void {
    this.visible.clear();
    this.stop();
  }

  private start(): void {
    if (this.handle === undefined) this.handle = this.timers.setInterval(() => void this.runTick(), this.intervalMs);
  }

  private stop(): void {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle);
    this.handle = undefined;
  }

  /** A slow tick (nvidia-smi hanging) never overlaps the next one. */
  private async runTick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.tick();
    } finally {
      this.running = false;
    }
  }
}
