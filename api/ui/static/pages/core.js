// Core memory and the conversation log: the user's core memory blocks (GET /v1/blocks) and a full-text search
// over what they said (POST /v1/conversations/search); a hit opens its conversation (#/conversation/<id>).
import { call, userQuery } from "/ui/api.js";
import { h, show, when, errorBox } from "/ui/dom.js";

const PAGE_SIZE = 10;

function blockCard(block) {
  return h("div", { class: "card", "data-block": block.label },
    h("strong", {}, block.label),
    h("span", { class: "muted" }, ` v${block.version} · ${block.value.length}/${block.limit} characters · ${block.updated_at ? `updated ${when(block.updated_at)}` : "never written"}`),
    block.value ? h("pre", { class: "context" }, block.value) : h("p", { class: "empty" }, "Empty: the agent has not written this block yet."));
}

export async function renderCore(me) {
  let blocks;
  try {
    blocks = (await call("GET", "/v1/blocks", { query: userQuery(me) })).blocks;
  } catch (error) {
    blocks = error;
  }
  const query = h("input", { id: "log-query", required: true, size: 30, placeholder: "words said in a conversation" });
  const hits = h("div", { id: "log-hits" }, h("p", { class: "empty" }, "Search the conversation log: every turn the user's agents sent, by its words."));
  let page = 0;

  async function search() {
    let found;
    try {
      found = await call("POST", "/v1/conversations/search", { body: { ...userQuery(me), query: query.value, page, page_size: PAGE_SIZE } });
    } catch (error) {
      return hits.replaceChildren(errorBox(error));
    }
    if (!found.results.length) return hits.replaceChildren(h("p", { class: "empty", id: "no-turns" }, "No turn says that."));
    const pages = Math.ceil(found.total / PAGE_SIZE);
    hits.replaceChildren(
      h("table", { id: "turn-hits" }, h("tbody", {}, found.results.map((t) => h("tr", { "data-turn-id": t.turn_id },
        h("td", { "data-label": "Said" }, h("strong", {}, t.speaker || t.role), `: ${t.text}`),
        h("td", { "data-label": "In" }, h("a", { href: `#/conversation/${encodeURIComponent(t.conversation_id)}` }, t.conversation_id)),
        h("td", { "data-label": "When" }, when(t.occurred_at)))))),
      h("div", { class: "pager" },
        h("button", { class: "secondary", disabled: page === 0, onclick: () => { page -= 1; search(); } }, "Previous"),
        h("span", {}, `page ${page + 1} of ${pages} · ${found.total} turns`),
        h("button", { class: "secondary", disabled: page + 1 >= pages, onclick: () => { page += 1; search(); } }, "Next")));
  }

  const form = h("form", { class: "filters", id: "log-form", onsubmit: (e) => { e.preventDefault(); page = 0; search(); } },
    h("label", {}, "Conversation log", query), h("button", { type: "submit", id: "log-search" }, "Search"));
  show(h("h1", {}, "Core memory"),
    blocks instanceof Error ? errorBox(blocks) : h("div", { id: "blocks" }, blocks.length ? blocks.map(blockCard) : h("p", { class: "empty" }, "No core memory blocks.")),
    h("h2", {}, "Conversation log"), form, hits);
}

export async function renderConversation(me, conversationId) {
  const turns = await call("GET", `/v1/conversations/${encodeURIComponent(conversationId)}/turns`, { query: { ...userQuery(me), limit: 500 } });
  show(h("h1", {}, `Conversation ${conversationId}`),
    turns.results.length
      ? h("ol", { class: "timeline", id: "conversation" }, turns.results.map((t) => h("li", { "data-turn-id": t.turn_id },
          h("strong", {}, t.speaker || t.role), `: ${t.text}`, h("div", { class: "muted" }, when(t.occurred_at)))))
      : h("p", { class: "empty" }, "No turns: this user has no conversation by that id."));
}
