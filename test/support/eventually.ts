/**
 * Waiting for something the test cannot await directly (a NOTIFY, a pool
 * closing, a backend appearing): poll with a deadline instead of a fixed
 * sleep, so a fast machine does not wait and a slow one does not flake.
 */

/** Polls until check() is true; throws with the description after timeoutMs. Not a timing assertion: a liveness bound. */
export async function eventually(description: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
