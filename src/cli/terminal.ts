/**
 * How the CLI talks to the user: colour and spinners on a terminal, plain
 * lines in a pipeline, nothing but JSON on stdout with --json. Diagnostics
 * go to stderr. Colour is decided per stream (colour.ts); every line is
 * redacted; a stream that was closed under us is no longer written to.
 */
import { stripVTControlCharacters } from 'node:util';
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { redact } from '../redact.js';
import { isClosed } from './closed-streams.js';
import { colourLevel, isCI, type ColourStream } from './colour.js';

export type OutputStream = NodeJS.WritableStream & ColourStream & { columns?: number };

export interface TerminalOptions {
  json?: boolean;
  /** false: --no-color. */
  color?: boolean;
  verbose?: boolean;
  /** Silence notices (which cluster is used, and the like); warnings and errors still show. */
  quiet?: boolean;
  stdout?: OutputStream;
  stderr?: OutputStream;
  stdin?: { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export class Terminal {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  /** Spinners and tables with borders (stdout and stderr are terminals). */
  readonly interactive: boolean;
  /** Prompts can be shown (stdin and stderr are terminals). */
  readonly stdinInteractive: boolean;
  /** Colours for stdout. */
  readonly c: ChalkInstance;
  /** Colours for stderr. */
  readonly ec: ChalkInstance;
  /** Where prompts are drawn: stderr, so stdout carries data only. */
  readonly promptOutput: OutputStream;
  private readonly out: OutputStream;
  private readonly err: OutputStream;
  private spinner: Ora | undefined;
  /** Text of a spinner asked for while ora is still loading (it is loaded on first use). */
  private pendingSpinner: string | undefined;
  private oraLoad: Promise<typeof import('ora').default | undefined> | undefined;

  constructor(options: TerminalOptions = {}) {
    const env = options.env ?? process.env;
    this.out = options.stdout ?? process.stdout;
    this.err = options.stderr ?? process.stderr;
    this.promptOutput = this.err;
    this.json = options.json ?? false;
    this.verbose = options.verbose ?? false;
    this.quiet = options.quiet ?? false;
    const ci = isCI(env);
    // A pseudo-terminal with zero columns (e.g. `script` without a real
    // terminal) sends ora's line arithmetic into an endless loop: no spinner there.
    this.interactive = Boolean(this.out.isTTY && this.err.isTTY) && (this.err.columns ?? 0) > 0 && !this.json && !ci;
    const stdin = options.stdin ?? process.stdin;
    this.stdinInteractive = Boolean(stdin.isTTY) && Boolean(this.err.isTTY) && !ci;
    this.c = new Chalk({ level: colourLevel(this.out, env, options.color !== false) });
    this.ec = new Chalk({ level: colourLevel(this.err, env, options.color !== false) });
  }

  /** A result line on stdout (suppressed in --json mode). */
  line(text = ''): void {
    if (this.json) return;
    this.pauseSpinner(() => this.write(this.out, this.c, text));
  }

  /** A diagnostic on stderr. */
  note(text: string): void {
    this.pauseSpinner(() => this.write(this.err, this.ec, text));
  }

  /** A notice (e.g. which cluster is used): dim on stderr, silenced by --quiet. */
  info(text: string): void {
    if (!this.quiet) this.note(this.ec.dim(text));
  }

  warn(text: string): void {
    this.note(this.ec.yellow(`warning: ${text}`));
  }

  printJson(value: unknown): void {
    // JSON.stringify escapes C0 controls; DEL and C1 (e.g. U+009B, a one-byte CSI) are escaped too.
    const json = JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (!isClosed(this.out)) this.out.write(`${redact(json)}\n`);
  }

  /** Progress: a spinner on a terminal; plain lines on stderr otherwise (quiet in --json). */
  progress(text: string): void {
    if (isClosed(this.err)) return this.stopSpinner();
    if (this.interactive) {
      if (this.spinner) this.spinner.text = redact(text);
      else this.startSpinner(redact(text));
    } else if (!this.json && this.verbose) {
      this.write(this.err, this.ec, text);
    }
  }

  succeed(text: string): void {
    // Our own symbol so its colour follows our decision, not ora's.
    if (this.hasSpinner() && !isClosed(this.err)) this.persist(this.ec.green('✔'), text);
    else {
      this.stopSpinner();
      this.line(text);
    }
  }

  fail(text?: string): void {
    if (!this.hasSpinner()) return;
    if (text && !isClosed(this.err)) this.persist(this.ec.red('✖'), text);
    else this.stopSpinner();
  }

  stopSpinner(): void {
    this.spinner?.stop();
    this.spinner = undefined;
    this.pendingSpinner = undefined;
  }

  private hasSpinner(): boolean {
    return this.spinner !== undefined || this.pendingSpinner !== undefined;
  }

  /** Ends the spinner with a final line, as ora draws it (also when ora had not loaded yet). */
  private persist(symbol: string, text: string): void {
    if (this.spinner) this.spinner.stopAndPersist({ symbol, text: redact(text) });
    else this.write(this.err, this.ec, `${symbol} ${text}`);
    this.spinner = undefined;
    this.pendingSpinner = undefined;
  }

  /**
   * ora is loaded on the first spinner, not at start-up (most runs never show
   * one); the spinner appears once it has loaded, with the latest text, unless
   * it was stopped in the meantime.
   */
  private startSpinner(text: string): void {
    const waiting = this.pendingSpinner !== undefined;
    this.pendingSpinner = text;
    if (waiting) return;
    this.oraLoad ??= import('ora').then(
      (module) => module.default,
      () => undefined,
    );
    void this.oraLoad.then((ora) => {
      if (!ora || this.spinner || this.pendingSpinner === undefined || isClosed(this.err)) return;
      const shown = this.pendingSpinner;
      this.pendingSpinner = undefined;
      this.spinner = ora({
        text: shown,
        stream: this.err,
        discardStdin: false,
        color: this.ec.level > 0 ? 'cyan' : false,
      }).start();
    });
  }

  private write(stream: OutputStream, colours: ChalkInstance, text: string): void {
    if (isClosed(stream)) return;
    // Text coloured for the other stream loses its colour here when this one has none.
    const shown = colours.level === 0 ? stripVTControlCharacters(text) : text;
    stream.write(`${redact(shown)}\n`);
  }

  private pauseSpinner(write: () => void): void {
    if (!this.spinner?.isSpinning) return write();
    if (isClosed(this.err)) {
      this.stopSpinner();
      return write();
    }
    this.spinner.clear();
    write();
    this.spinner.render();
  }
}
