// Pipeline (admin): every consumer group's lag per partition, events per second on each topic (from the change
// of the log's end offsets between two reads, every POLL_MS while the page is open), the projection targets the
// API serves, the stores' health (GET /ready), and this app's dead letters with a re-drive button.
import { call } from "/ui/api.js";
import { h, show, when, errorBox } from "/ui/dom.js";

const POLL_MS = 5000;
const TOPICS = ["turns", "commands", "memories"];
let timer = null;

// "memstream.turns.v1" -> "turns": the topic's part of its (prefixed, versioned) name.
const topicName = (topic) => topic.split(".").find((part) => TOPICS.includes(part)) || topic;

function topicEnds(status) {
  const ends = {};
  for (const group of status.groups) for (const p of group.partitions) ends[`${p.topic}/${p.partition}`] = [p.topic, p.end];
  const byTopic = {};
  for (const [topic, end] of Object.values(ends)) byTopic[topic] = (byTopic[topic] || 0) + end;
  return byTopic;
}

// GET /ready: every store this API talks to, answered or not (503 names the ones that did not; same body).
async function readiness() {
  const response = await fetch("/ready");
  return response.json();
}

export async function renderPipeline(me) {
  clearInterval(timer);
  if (!me.scopes.includes("admin")) {
    return show(h("h1", {}, "Pipeline"), h("p", { class: "empty", id: "not-admin" }, "The pipeline is shown to a key with the 'admin' scope."));
  }
  const body = h("div", { id: "pipeline" }, h("p", { class: "muted" }, "Reading the pipeline…"));
  show(h("h1", {}, "Pipeline"), body);
  let previous = null;
  const redriven = {};  // dead letter id -> where it went: kept across the page's refreshes

  async function load() {
    if (!document.body.contains(body)) return clearInterval(timer);  // the user went to another page
    let status, ready;
    try {
      [status, ready] = await Promise.all([call("GET", "/v1/admin/pipeline"), readiness()]);
    } catch (error) {
      return body.replaceChildren(errorBox(error));
    }
    const ends = topicEnds(status);
    const rates = previous
      ? Object.entries(ends).map(([topic, end]) => `${topicName(topic)} ${((end - (previous.ends[topic] || 0)) / ((Date.parse(status.read_at) - previous.at) / 1000)).toFixed(1)}/s`)
      : ["measured from the next read"];
    previous = { ends, at: Date.parse(status.read_at) };
    const groups = h("table", { id: "groups" },
      h("thead", {}, h("tr", {}, ["Group", "Role", "Lag", "Partitions (topic/partition: committed of end)"].map((t) => h("th", {}, t)))),
      h("tbody", {}, status.groups.map((g) => h("tr", { "data-group": g.group },
        h("td", { "data-label": "Group" }, g.group), h("td", { "data-label": "Role" }, g.role),
        h("td", { "data-label": "Lag", "data-lag": g.lag }, g.lag),
        h("td", { "data-label": "Partitions", class: "muted" },
          g.partitions.map((p) => `${topicName(p.topic)}/${p.partition}: ${p.committed ?? "—"} of ${p.end}`).join(" · "))))));
    const targets = h("p", { id: "targets" }, Object.entries(status.targets).map(([store, target]) => h("span", { class: "tag" }, `${store}: ${target}`)), " ");
    const letters = status.dead_letters.length
      ? h("table", { id: "dead-letters" },
          h("thead", {}, h("tr", {}, ["Failed", "Component", "Reason", "Origin", ""].map((t) => h("th", {}, t)))),
          h("tbody", {}, status.dead_letters.map((d) => h("tr", { "data-dead-letter-id": d.dead_letter_id },
            h("td", { "data-label": "Failed" }, when(d.failed_at)), h("td", { "data-label": "Component" }, d.component),
            h("td", { "data-label": "Reason" }, `${d.error_type}: ${d.reason}`), h("td", { "data-label": "Origin" }, d.origin),
            h("td", {}, redriven[d.dead_letter_id]
              ? h("span", { class: "tag redriven" }, `re-driven to ${redriven[d.dead_letter_id]}`)
              : h("button", { class: "secondary redrive", onclick: (e) => redrive(e.target, d.dead_letter_id) }, "Re-drive"))))))
      : h("p", { class: "empty", id: "no-dead-letters" }, "No dead letters: every message of this app was processed.");
    const services = h("p", { id: "services" }, Object.entries(ready.checks).map(([store, check]) =>
      h("span", { class: check === "ok" ? "tag" : "tag error", "data-service": store, "data-check": check }, `${store}: ${check}`)), " ");
    body.replaceChildren(
      h("h2", {}, "Services"), services,
      h("p", { class: "muted", id: "rates" }, `Read ${when(status.read_at)} · events per second: ${rates.join(", ")}`),
      h("h2", {}, "Consumer groups"), groups, h("h2", {}, "Projection targets"), targets,
      h("h2", {}, "Dead letters"), letters);
  }

  async function redrive(button, id) {
    button.disabled = true;
    try {
      const done = await call("POST", "/v1/admin/dead-letters/redrive", { body: { dead_letter_ids: [id] } });
      redriven[id] = done.redriven[0].redriven_to;
      button.replaceWith(h("span", { class: "tag redriven" }, `re-driven to ${redriven[id]}`));
    } catch (error) {
      button.replaceWith(errorBox(error));
    }
  }

  await load();
  timer = setInterval(load, POLL_MS);
}
