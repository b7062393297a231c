/** Environment variables where there are any (Node, Deno, Bun); in a browser there is no ``process`` and this
 * answers ``undefined``, so the library never touches a Node-only API. */
export function environmentVariable(name: string): string | undefined {
  const runtime = globalThis as { process?: { env?: Record<string, string | undefined> } };
  const value = runtime.process?.env?.[name];
  return value === undefined || value === "" ? undefined : value;
}
