// Lineage drawn as a picture: the memory in the middle, the memories it came from on the left, the ones that
// came from it on the right, one labelled arrow per link (supersedes, summarizes, reinforces, and recalled: a
// dashed arrow from a summary to an original recalled out of its archive back to active). Plain SVG, laid out by
// hand: a memory's lineage is a handful of nodes, so no graph library is needed.
const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 220, NODE_H = 46, GAP_Y = 18, COLUMN_X = [20, 380, 740], WIDTH = 980;

function el(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const short = (text, n = 34) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

// links: [{relation, from_memory_id, to_memory_id}]; "from" supersedes/summarizes/reinforces "to".
// texts, states: memory id -> its text and state when known.
export function drawLineage(memoryId, links, texts, states = {}) {
  const older = [...new Set(links.filter((l) => l.from_memory_id === memoryId).map((l) => l.to_memory_id))];
  const newer = [...new Set(links.filter((l) => l.to_memory_id === memoryId).map((l) => l.from_memory_id))];
  const rows = Math.max(1, older.length, newer.length);
  const height = rows * (NODE_H + GAP_Y) + GAP_Y + 20;
  const svg = el("svg", { class: "lineage", id: "lineage", viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
    "aria-label": `lineage of memory ${memoryId}` });
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#667085" }));
  defs.append(marker);
  svg.append(defs);
  const place = {};
  const column = (ids, x) => ids.forEach((id, i) => {
    const top = GAP_Y + 20 + i * (NODE_H + GAP_Y) + ((rows - ids.length) * (NODE_H + GAP_Y)) / 2;
    place[id] = { x, y: top };
  });
  column(older, COLUMN_X[0]);
  column([memoryId], COLUMN_X[1]);
  column(newer, COLUMN_X[2]);
  svg.append(el("text", { x: COLUMN_X[0], y: 14, class: "muted", fill: "#667085" }, older.length ? "came from" : ""));
  svg.append(el("text", { x: COLUMN_X[2], y: 14, fill: "#667085" }, newer.length ? "became" : ""));
  for (const link of links) {
    const from = place[link.from_memory_id], to = place[link.to_memory_id];
    if (!from || !to) continue;
    // The arrow points from the newer memory (right) to the one it supersedes/summarizes/reinforces (left),
    // so "newer —supersedes→ older" reads as the relation says.
    // A recall runs beside its summary's arrow, lower and dashed, so the two never hide each other.
    const recalled = link.relation === "recalled", shift = recalled ? 12 : 0;
    const x1 = from.x, y1 = from.y + NODE_H / 2 + shift, x2 = to.x + NODE_W, y2 = to.y + NODE_H / 2 + shift;
    svg.append(el("line", { x1, y1, x2, y2, stroke: recalled ? "#b54708" : "#667085", "stroke-dasharray": recalled ? "6 4" : "none",
      "marker-end": "url(#arrow)", class: "link", "data-relation": link.relation }));
    // Named where it arrives: arrows from one memory fan out towards different boxes, so labels there stay apart.
    svg.append(el("text", { x: x2 + 14, y: y2 + (recalled ? 14 : -6), "font-size": 12,
      fill: recalled ? "#b54708" : "#344054" }, link.relation));
  }
  for (const [id, { x, y }] of Object.entries(place)) {
    const group = el("a", { href: `#/memory/${encodeURIComponent(id)}`, class: "node", "data-memory-id": id });
    group.append(el("rect", { x, y, width: NODE_W, height: NODE_H, rx: 6, fill: id === memoryId ? "#eef2ff" : "#fff",
      stroke: id === memoryId ? "#2554c7" : "#d0d5dd" }));
    group.append(el("text", { x: x + 8, y: y + 19, "font-size": 13, fill: "#1d2330" }, short(texts[id] || "(another memory)")));
    group.append(el("text", { x: x + 8, y: y + 36, "font-size": 11, fill: "#667085", class: "node-state" },
      short(states[id] ? `${states[id]} · ${id}` : id, 34)));
    svg.append(group);
  }
  return svg;
}
