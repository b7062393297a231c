// Lineage drawn as a picture: the memory in the middle, the memories it came from on the left, the ones that
// came from it on the right, one labelled arrow per link (supersedes, summarizes, reinforces, and recalled: a
// dashed arrow from a summary to an original recalled out of its archive back to active). Plain SVG, laid out by
// hand: a memory's lineage is a handful of nodes, so no graph library is needed.
const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 220, NODE_H = 46, GAP_Y = 18, COLUMN_X = [20, 380, 740], WIDTH = 980;
const NARROW_W = 360, BAND_GAP = 56;

function el(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const short = (text, n = 34) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

// Where each memory's box goes. Wide (a desktop): three columns, older | this | newer, arrows running right to
// left. Narrow (a phone): three bands, older above, this one, newer below, arrows running upwards, each band's
// boxes side by side, so the text stays readable instead of the wide picture shrinking to fit.
function layout(memoryId, older, newer, narrow) {
  const place = {};
  if (!narrow) {
    const rows = Math.max(1, older.length, newer.length);
    const column = (ids, x) => ids.forEach((id, i) => {
      place[id] = { x, y: GAP_Y + 20 + i * (NODE_H + GAP_Y) + ((rows - ids.length) * (NODE_H + GAP_Y)) / 2, w: NODE_W };
    });
    column(older, COLUMN_X[0]);
    column([memoryId], COLUMN_X[1]);
    column(newer, COLUMN_X[2]);
    return { place, width: WIDTH, height: rows * (NODE_H + GAP_Y) + GAP_Y + 20, labels: [[COLUMN_X[0], 14], [COLUMN_X[2], 14]] };
  }
  const band = (ids, y) => {
    const w = Math.min(NARROW_W - 40, (NARROW_W - 20 * (ids.length + 1)) / Math.max(1, ids.length));
    const left = (NARROW_W - (ids.length * w + (ids.length - 1) * 20)) / 2;
    ids.forEach((id, i) => { place[id] = { x: left + i * (w + 20), y, w }; });
  };
  const bandY = [24, 24 + NODE_H + BAND_GAP, 24 + 2 * (NODE_H + BAND_GAP)];
  band(older, bandY[0]);
  band([memoryId], bandY[1]);
  band(newer, bandY[2]);
  const height = (newer.length ? bandY[2] : bandY[1]) + NODE_H + 10;
  return { place, width: NARROW_W, height, labels: [[20, 16], [20, bandY[2] - 8]] };
}

// The arrow between two boxes: from the newer memory to the one it supersedes/summarizes/reinforces, so
// "newer —supersedes→ older" reads as the relation says. A recall runs beside its summary's arrow, shifted and
// dashed, so the two never hide each other.
function arrow(from, to, shift, narrow) {
  if (!narrow) return { x1: from.x, y1: from.y + NODE_H / 2 + shift, x2: to.x + to.w, y2: to.y + NODE_H / 2 + shift };
  if (from.y > to.y) return { x1: from.x + from.w / 2 + shift, y1: from.y, x2: to.x + to.w / 2 + shift, y2: to.y + NODE_H };
  return { x1: from.x + from.w / 2 + shift, y1: from.y + NODE_H, x2: to.x + to.w / 2 + shift, y2: to.y };
}

// links: [{relation, from_memory_id, to_memory_id}]; "from" supersedes/summarizes/reinforces "to".
// texts, states: memory id -> its text and state when known. narrow: lay it out for a phone's screen.
export function drawLineage(memoryId, links, texts, states = {}, narrow = false) {
  const older = [...new Set(links.filter((l) => l.from_memory_id === memoryId).map((l) => l.to_memory_id))];
  const newer = [...new Set(links.filter((l) => l.to_memory_id === memoryId).map((l) => l.from_memory_id))];
  const { place, width, height, labels } = layout(memoryId, older, newer, narrow);
  const svg = el("svg", { class: "lineage", id: "lineage", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `lineage of memory ${memoryId}`, "data-layout": narrow ? "narrow" : "wide" });
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#667085" }));
  defs.append(marker);
  svg.append(defs);
  svg.append(el("text", { x: labels[0][0], y: labels[0][1], fill: "#667085", "font-size": 12 }, older.length ? "came from" : ""));
  svg.append(el("text", { x: labels[1][0], y: labels[1][1], fill: "#667085", "font-size": 12 }, newer.length ? "became" : ""));
  for (const link of links) {
    const from = place[link.from_memory_id], to = place[link.to_memory_id];
    if (!from || !to) continue;
    const recalled = link.relation === "recalled";
    const { x1, y1, x2, y2 } = arrow(from, to, recalled ? 12 : 0, narrow);
    svg.append(el("line", { x1, y1, x2, y2, stroke: recalled ? "#b54708" : "#667085", "stroke-dasharray": recalled ? "6 4" : "none",
      "marker-end": "url(#arrow)", class: "link", "data-relation": link.relation }));
    // Named where it arrives: arrows from one memory fan out towards different boxes, so labels there stay apart.
    const label = narrow ? { x: x2 + 4, y: y2 + (y2 > y1 ? -6 : 14) } : { x: x2 + 14, y: y2 + (recalled ? 14 : -6) };
    svg.append(el("text", { ...label, "font-size": 12, fill: recalled ? "#b54708" : "#344054" }, link.relation));
  }
  for (const [id, { x, y, w }] of Object.entries(place)) {
    const chars = Math.max(10, Math.floor(w / 7.5));  // about 7.5 units a character of the 13px text
    const group = el("a", { href: `#/memory/${encodeURIComponent(id)}`, class: "node", "data-memory-id": id });
    group.append(el("rect", { x, y, width: w, height: NODE_H, rx: 6, fill: id === memoryId ? "#eef2ff" : "#fff",
      stroke: id === memoryId ? "#2554c7" : "#d0d5dd" }));
    group.append(el("text", { x: x + 8, y: y + 19, "font-size": 13, fill: "#1d2330" }, short(texts[id] || "(another memory)", chars - 2)));
    group.append(el("text", { x: x + 8, y: y + 36, "font-size": 11, fill: "#667085", class: "node-state" },
      short(states[id] ? `${states[id]} · ${id}` : id, chars)));
    svg.append(group);
  }
  return svg;
}
