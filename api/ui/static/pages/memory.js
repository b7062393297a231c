// A memory: its text, state and importance, the turns it came from, its history as a timeline (valid and
// known time) and its lineage drawn as a picture.
import { call, userQuery } from "/ui/api.js";
import { h, show, when, errorBox } from "/ui/dom.js";
import { drawLineage } from "/ui/lineage.js";

// "Recalled": an original a summary archived, found again by a search of the archive and brought back to active.
// The lineage route has no such link (recall is a state change of the original, not a new relation), so the page
// adds one, from the summary to the original, for each summarized original whose history holds a MemoryRecalled.
async function recalls(links, memoryId, history, query) {
  const summarized = links.filter((l) => l.relation === "summarizes");
  const recalled = await Promise.all(summarized.map(async (l) => {
    const entries = l.to_memory_id === memoryId ? history.entries
      : (await call("GET", `/v1/memories/${encodeURIComponent(l.to_memory_id)}/history`, { query }).catch(() => ({ entries: [] }))).entries;
    return entries.some((e) => e.event_type === "MemoryRecalled");
  }));
  return summarized.filter((_, i) => recalled[i]).map((l) => ({ ...l, relation: "recalled" }));
}

export async function renderMemory(me, memoryId) {
  const query = userQuery(me);
  const path = `/v1/memories/${encodeURIComponent(memoryId)}`;
  let memory, history, lineage;
  try {
    [memory, history, lineage] = await Promise.all([
      call("GET", path, { query }), call("GET", `${path}/history`, { query }), call("GET", `${path}/lineage`, { query })]);
  } catch (error) {
    return show(h("h1", {}, "A memory"), errorBox(error), h("p", {}, h("a", { href: "#/memories" }, "Back to the memories")));
  }
  // The linked memories' texts, for the picture; one that cannot be read (gone) is drawn without its text.
  const linked = new Set(lineage.links.flatMap((l) => [l.from_memory_id, l.to_memory_id]));
  linked.delete(memoryId);
  const texts = { [memoryId]: memory.memory }, states = { [memoryId]: memory.state };
  await Promise.all([...linked].map(async (id) => {
    try {
      const other = await call("GET", `/v1/memories/${encodeURIComponent(id)}`, { query });
      texts[id] = other.memory;
      states[id] = other.state;
    } catch { /* drawn without text */ }
  }));
  const links = [...lineage.links, ...await recalls(lineage.links, memoryId, history, query)];

  const facts = h("div", { class: "card", id: "memory" },
    h("p", { id: "memory-text" }, memory.memory),
    h("p", { class: "muted" },
      h("span", { class: "tag", id: "memory-state" }, memory.state), ` ${memory.kind} · importance ${memory.importance.toFixed(2)}`,
      ` · valid from ${when(memory.valid_from)}${memory.valid_to ? ` to ${when(memory.valid_to)}` : ""}`,
      ` · extractor ${lineage.extractor} · recalled ${lineage.access_count}×`));
  const turns = lineage.source_turns.length
    ? h("ul", { id: "turns" }, lineage.source_turns.map((t) => h("li", {}, h("strong", {}, t.speaker || t.role), `: ${t.text} `,
        h("a", { class: "muted", href: `#/conversation/${encodeURIComponent(t.conversation_id)}` }, `${t.conversation_id} · ${when(t.occurred_at)}`))))
    : h("p", { class: "empty" }, "No source turns: this memory was added as text or by a summary.");
  const timeline = history.entries.length
    ? h("ol", { class: "timeline", id: "history" }, history.entries.map((e) => h("li", {},
        h("strong", {}, e.event_type), " → ", h("span", { class: "tag" }, e.state), ` ${e.text}`,
        h("div", { class: "muted" }, `valid ${when(e.valid_from)}${e.valid_to ? ` – ${when(e.valid_to)}` : ""} · known ${when(e.known_at)}`))))
    : h("p", { class: "empty" }, "No history yet.");
  const picture = lineage.links.length
    ? drawLineage(memoryId, links, texts, states, window.matchMedia("(max-width: 640px)").matches)
    : h("p", { class: "empty", id: "lineage-empty" }, "No lineage: nothing superseded, summarized, recalled or reinforced this memory.");
  show(h("h1", {}, "A memory"), facts,
    h("h2", {}, "Lineage"), picture,
    h("h2", {}, "History"), timeline,
    h("h2", {}, "Came from"), turns);
}
