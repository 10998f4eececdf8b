/**
 * How the CLI talks to the user: colour and spinners on a terminal, plain
 * lines in a pipeline, nothing but JSON on stdout with --json. Diagnostics
 * go to stderr. NO_COLOR is honoured; every line is redacted.
 */
import chalk, { Chalk, type ChalkInstance } from 'chalk';
import ora, { type Ora } from 'ora';
import { redact } from '../redact.js';

export interface TerminalOptions {
  json?: boolean;
  color?: boolean;
  verbose?: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

export class Terminal {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly interactive: boolean;
  readonly stdinInteractive: boolean;
  readonly c: ChalkInstance;
  private readonly out: NodeJS.WriteStream;
  private readonly err: NodeJS.WriteStream;
  private spinner: Ora | undefined;

  constructor(options: TerminalOptions = {}) {
    this.out = options.stdout ?? process.stdout;
    this.err = options.stderr ?? process.stderr;
    this.json = options.json ?? false;
    this.verbose = options.verbose ?? false;
    // A pseudo-terminal with zero columns (e.g. `script` without a real
    // terminal) sends ora's line arithmetic into an endless loop: no spinner there.
    this.interactive =
      Boolean(this.out.isTTY && this.err.isTTY) && (this.err.columns ?? 0) > 0 && !this.json && !process.env.CI;
    this.stdinInteractive = Boolean(process.stdin.isTTY) && Boolean(this.err.isTTY) && !process.env.CI;
    const colour = options.color !== false && !('NO_COLOR' in process.env) && Boolean(this.out.isTTY || this.err.isTTY);
    this.c = new Chalk({ level: colour ? chalk.level || 1 : 0 });
  }

  /** A result line on stdout (suppressed in --json mode). */
  line(text = ''): void {
    if (this.json) return;
    this.pauseSpinner(() => this.out.write(`${redact(text)}\n`));
  }

  /** A diagnostic on stderr. */
  note(text: string): void {
    this.pauseSpinner(() => this.err.write(`${redact(text)}\n`));
  }

  warn(text: string): void {
    this.note(this.c.yellow(`warning: ${text}`));
  }

  printJson(value: unknown): void {
    this.out.write(`${redact(JSON.stringify(value, null, 2))}\n`);
  }

  /** Progress: a spinner on a terminal; plain lines on stderr otherwise (quiet in --json). */
  progress(text: string): void {
    if (this.interactive) {
      if (this.spinner) this.spinner.text = redact(text);
      else this.spinner = ora({ text: redact(text), stream: this.err, discardStdin: false }).start();
    } else if (!this.json && this.verbose) {
      this.err.write(`${redact(text)}\n`);
    }
  }

  succeed(text: string): void {
    if (this.spinner) {
      this.spinner.succeed(redact(text));
      this.spinner = undefined;
    } else {
      this.line(text);
    }
  }

  fail(text?: string): void {
    if (this.spinner) {
      if (text) this.spinner.fail(redact(text));
      else this.spinner.stop();
      this.spinner = undefined;
    }
  }

  stopSpinner(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }

  private pauseSpinner(write: () => void): void {
    if (!this.spinner?.isSpinning) return write();
    this.spinner.clear();
    write();
    this.spinner.render();
  }
}
