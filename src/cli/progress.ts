import cliProgress from 'cli-progress';

/** A progress bar with rate and ETA on stderr, only when stderr is a terminal. */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

export function progressBar(label: string, unit: string, total = 0): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
    etaBuffer: 50,
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  const started = Date.now();
  bar.start(total, 0, { rate: 0 });
  return {
    update(done, newTotal) {
      if (newTotal !== undefined && newTotal !== bar.getTotal()) bar.setTotal(newTotal);
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0 });
    },
    stop() { bar.stop(); },
  };
}

/** A line per step on stderr (terminal or not): what the command is doing now. */
export function stepLogger(enabled: boolean) {
  const started = Date.now();
  return (step: string) => {
    if (enabled) process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${step}\n`);
  };
}
