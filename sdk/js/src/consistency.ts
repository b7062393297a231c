/**
 * Read your writes: the consistency tokens of this client's latest writes, per (app, user), until a read has
 * carried them.
 *
 * A token names the log positions of one write; a read that carries it waits until the pipeline applied it.
 * Writes go to one of two topics: ``add`` and archival inserts to the turns topic, every other edit (update,
 * delete, blocks, erasure) to the commands topic. A user's writes to one topic share a partition (the user is
 * the key), so the latest token per topic covers the earlier ones there, but a command's token says nothing
 * about a turn written before it. So the book keeps the latest token per user *and* topic: a read carries one
 * and, when both topics have one pending, first waits for the other (``Memstream.waitFor``). A token is
 * forgotten once a read that carried it answered: the write is visible, later reads need not wait.
 */

export type Topic = "turns" | "commands";

/** Whose data, as the caller named it: ``undefined`` is the credential's own app or user. */
export interface Scope {
  app_id?: string | null | undefined;
  user_id?: string | null | undefined;
}

function keyOf(scope: Scope): string {
  return JSON.stringify([scope.app_id ?? null, scope.user_id ?? null]);
}

export class TokenBook {
  private readonly pending = new Map<string, Map<Topic, string>>();

  wrote(scope: Scope, topic: Topic, token: string | null | undefined): void {
    if (!token) return;
    const key = keyOf(scope);
    const tokens = this.pending.get(key) ?? new Map<Topic, string>();
    tokens.set(topic, token);
    this.pending.set(key, tokens);
  }

  /** The tokens a read of ``scope`` must wait for (none, one or two). */
  tokensFor(scope: Scope): string[] {
    return [...(this.pending.get(keyOf(scope))?.values() ?? [])];
  }

  /** A read of ``scope`` answered after waiting for ``tokens``: they need no waiting any more (unless a newer
   * write replaced them meanwhile, which stays). */
  seen(scope: Scope, tokens: readonly string[]): void {
    const key = keyOf(scope);
    const held = this.pending.get(key);
    if (!held) return;
    for (const [topic, token] of held) if (tokens.includes(token)) held.delete(topic);
    if (held.size === 0) this.pending.delete(key);
  }
}
