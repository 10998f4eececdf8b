/**
 * Tables for people: cli-table3 with borders on a terminal, aligned columns
 * without borders when plain. cli-table3 colours its own borders and
 * headers, so they follow our colour decision for the stream (`c`).
 */
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';

const PLAIN_CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export function makeTable(c: ChalkInstance, head: string[], plain: boolean): Table.Table {
  const coloured = c.level > 0 && !plain;
  return new Table({
    head,
    style: { head: coloured ? ['cyan'] : [], border: coloured ? ['grey'] : [] },
    ...(plain ? { chars: PLAIN_CHARS } : {}),
  });
}
