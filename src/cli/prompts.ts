/**
 * Questions asked on a terminal, drawn on stderr (stdout carries results
 * only). @inquirer/prompts is loaded when a question is really asked, not
 * at start-up: most runs ask nothing.
 */
import { escapeControlCharacters } from '../control-characters.js';
import { messageOf } from '../errors.js';
import type { Terminal } from './terminal.js';

/** A yes/no question; no is the default. */
export async function confirmOnTerminal(term: Terminal, message: string): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: false }, { output: term.promptOutput });
}

/** Asks for a line of text and re-asks until `check` accepts it; returns what `check` returns. */
export async function askOnTerminal(term: Terminal, message: string, check: (value: string) => string): Promise<string> {
  const { input } = await import('@inquirer/prompts');
  const answer = await input(
    {
      message,
      required: true,
      validate: (value) => {
        try {
          check(value);
          return true;
        } catch (err) {
          return escapeControlCharacters(messageOf(err));
        }
      },
    },
    { output: term.promptOutput },
  );
  return check(answer);
}
