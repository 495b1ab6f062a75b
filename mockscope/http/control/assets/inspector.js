// The inspector's script: reads the control plane's JSON routes every second and draws them.
// Plain DOM, no framework and no build step; every text from the server goes in as text.
"use strict";

(() => {
  const BASE = "/_mockscope/";
  const POLL_MS = 1000;
  const PAGE_SIZE = 20;
  const JOURNAL_ROWS = 15;
  // The fake shows times in Beijing time, as the service does (UTC+8, no daylight saving).
  const BEIJING_MS = 8 * 3600 * 1000;
  // A browser opens the page without headers: a token given as ?token= goes with every call.
  const token = new URLSearchParams(location.search).get("token");
  const view = { page: 1, accountId: "", model: "", status: "" };
  const thumbnails = new Map(); // url -> <img>, so a redraw never downloads an image again

  const $ = (id) => document.getElementById(id);

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  async function call(path, { method = "GET", body } = {}) {
    const headers = {};
    if (token) headers["X-Mockscope-Token"] = token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.message || `${method} ${path}: ${response.status}`);
    return answer;
  }

  // -- formatting ---------------------------------------------------------------------------

  const clockTime = (ms) => new Date(ms + BEIJING_MS).toISOString().slice(11, 23);

  function duration(ms) {
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
    return `${(ms / 3_600_000).toFixed(1)} h`;
  }

  function ruleLine(rule) {
    const parts = [rule.outcome];
    for (const [name, value] of Object.entries(rule)) {
      // The message is the code's own unless declared: it goes in the tooltip, not the line.
      if (["outcome", "match", "times", "probability", "message"].includes(name)) continue;
      parts.push(`${name}=${Array.isArray(value) ? value.join(",") : value}`);
    }
    if (typeof rule.times === "string" && rule.times !== "always") parts.push(`times=${rule.times}`);
    if (typeof rule.times === "object") {
      const [kind, n] = Object.entries(rule.times)[0];
      parts.push(`times=${kind}:${n}`);
    }
    if (rule.probability !== 1) parts.push(`probability=${rule.probability}`);
    return parts.join("; ");
  }

  function matchLine(match) {
    if (!match) return null;
    return Object.entries(match)
      .map(([name, value]) => {
        if (name === "header") return `header ${value.name}~${value.value}`;
        return `${name}=${Array.isArray(value) ? value.join(",") : value}`;
      })
      .join(", ");
  }

  // Fills a <select> with [value, label] pairs, keeping the choice; untouched when unchanged,
  // so a list the user has open is not redrawn under the pointer.
  function fill(select, pairs, chosen, allLabel) {
    const options = [["", allLabel], ...pairs];
    const key = JSON.stringify(options);
    if (select.dataset.options !== key) {
      select.replaceChildren(...options.map(([value, label]) => el("option", { value, text: label })));
      select.dataset.options = key;
    }
    select.value = options.some(([value]) => value === chosen) ? chosen : "";
  }

  // -- sections -----------------------------------------------------------------------------

  async function drawClock() {
    const clock = await call("clock");
    $("clock-now").textContent = clock.now;
    $("clock-mode").textContent = clock.mode === "manual" ? "manual" : `system ×${clock.time_scale}`;
    $("clock-note").textContent =
      clock.mode === "manual"
        ? "A manual clock: time moves only when advanced."
        : `The wall clock, ${clock.time_scale}× as fast; advancing moves it on as well.`;
  }

  async function drawTasks() {
    const query = new URLSearchParams({ page: view.page, page_size: PAGE_SIZE });
    if (view.accountId) query.set("account_id", view.accountId);
    if (view.model) query.set("model", view.model);
    if (view.status) query.set("status", view.status);
    const data = await call(`tasks/page?${query}`);
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    if (view.page > pages) {
      view.page = pages;
      return drawTasks();
    }
    const accounts = data.accounts.map((a) => [a.account_id, `${a.account} (${a.account_id.slice(-4)})`]);
    fill($("filter-account"), accounts, view.accountId, "all accounts");
    fill($("reset-account"), accounts, $("reset-account").value, "everything");
    fill($("filter-model"), data.models.map((m) => [m, m]), view.model, "all models");
    $("tasks-total").textContent = `${data.total}`;
    $("page-info").textContent = `page ${data.page} of ${pages}`;
    $("page-prev").disabled = data.page <= 1;
    $("page-next").disabled = data.page >= pages;
    $("tasks-empty").hidden = data.tasks.length > 0;

    // One time axis for the page: from the earliest submit to the latest end (or now).
    const now = data.now_ms;
    let low = now;
    let high = now;
    for (const task of data.tasks) {
      low = Math.min(low, task.submit_ms);
      high = Math.max(high, task.canceled_ms ?? task.end_ms ?? now);
    }
    const span = Math.max(1, high - low);
    const shown = new Set();
    $("task-rows").replaceChildren(...data.tasks.map((task) => taskRow(task, now, low, span, shown)));
    for (const url of thumbnails.keys()) if (!shown.has(url)) thumbnails.delete(url);
  }

  function taskRow(task, now, low, span, shown) {
    const at = (ms) => `${(((ms - low) / span) * 100).toFixed(3)}%`;
    const stop = task.canceled_ms ?? task.end_ms;
    // A task canceled while it waited for a run slot never had a start (scheduled_ms null).
    const started = task.status !== "PENDING" && task.scheduled_ms !== null && !(task.canceled_ms !== null && task.canceled_ms <= task.scheduled_ms);
    const queueEnd = started ? task.scheduled_ms : (stop ?? now);
    const track = el("div", { class: "track", "aria-hidden": "true" });
    const queue = el("span", { class: "queue" });
    queue.style.left = at(task.submit_ms);
    queue.style.width = `${(((queueEnd - task.submit_ms) / span) * 100).toFixed(3)}%`;
    track.append(queue);
    if (started) {
      const run = el("span", { class: `run ${task.status}` });
      run.style.left = at(task.scheduled_ms);
      run.style.width = `${((((stop ?? now) - task.scheduled_ms) / span) * 100).toFixed(3)}%`;
      track.append(run);
    }
    const marker = el("span", { class: "now" });
    marker.style.left = at(now);
    track.append(marker);

    const waited = (started ? task.scheduled_ms : Math.min(stop ?? now, now)) - task.submit_ms;
    const spent = [`queued ${duration(Math.max(0, waited))}`];
    if (started && stop !== null) spent.push(`${stop <= now ? "ran" : "runs"} ${duration(stop - task.scheduled_ms)}`);
    if (stop === null) spent.push("runs until told otherwise");
    const when = `${clockTime(task.submit_ms)} → ${stop === null ? "…" : clockTime(stop)}`;

    const metrics = task.task_metrics;
    const images = el("div", { class: "thumbs" });
    for (const image of task.images) {
      shown.add(image.url);
      let thumb = thumbnails.get(image.url);
      if (!thumb) {
        thumb = el("img", {
          src: image.url,
          alt: `Image ${image.index + 1} of task ${task.task_id} (${task.size})`,
          "data-size": task.size,
        });
        thumbnails.set(image.url, thumb);
      }
      images.append(el("a", { href: image.url, target: "_blank", rel: "noopener", title: "Open the full image" }, thumb));
    }

    return el(
      "tr",
      { "data-task-id": task.task_id, "data-status": task.status },
      el("td", {}, el("div", { class: "id", title: task.task_id, text: task.task_id }), el("div", { class: "prompt", title: task.prompt, text: task.prompt })),
      el("td", { class: "id", text: task.account }),
      el("td", {}, el("div", { class: "id nowrap", text: task.model }), el("div", { class: "metrics", text: task.size })),
      el(
        "td",
        {},
        el("span", { class: `badge ${task.status}`, text: task.status }),
        el("div", { class: "metrics", text: `${metrics.SUCCEEDED}/${metrics.TOTAL} made${metrics.FAILED ? `, ${metrics.FAILED} failed` : ""}` }),
        task.failure ? el("div", { class: "failure", title: task.failure.message, text: task.failure.code }) : null,
        task.outcome ? el("div", { class: "metrics mono", text: task.outcome }) : null,
      ),
      el("td", { class: "timeline" }, track, el("div", { class: "times", text: spent.join(" · ") }), el("div", { class: "times", title: "submitted → ends, on the fake's clock", text: when })),
      el("td", {}, images),
    );
  }

  async function drawScenario() {
    const scenario = await call("scenarios");
    $("rules-empty").hidden = scenario.rules.length > 0;
    $("rule-rows").replaceChildren(
      ...scenario.rules.map((installed, k) =>
        el(
          "tr",
          {},
          el("td", { class: "num", text: `${k + 1}` }),
          el("td", {}, el("div", { class: "rule", title: installed.rule.message ?? null, text: ruleLine(installed.rule) }), installed.rule.match ? el("div", { class: "metrics", text: `when ${matchLine(installed.rule.match)}` }) : null),
          el("td", { class: "num", text: `${installed.calls}` }),
          el("td", { class: "num", text: `${installed.fired}` }),
          el("td", {}, el("button", { type: "button", class: "remove", "data-remove": `${k + 1}`, "aria-label": `Remove rule ${k + 1}`, title: "Remove this rule", text: "✕" })),
        ),
      ),
    );
  }

  async function drawLimits() {
    const limits = await call("limits");
    const rate = (value) => (value === null ? "off" : value === "per-model" ? "each model's own" : `${value}/s`);
    const rows = [
      ["creates", rate(limits.create_per_second)],
      ["reads", rate(limits.get_per_second)],
      ["lists", rate(limits.list_per_second)],
      ["cancels", rate(limits.cancel_per_second)],
      ["upload policies", rate(limits.upload_per_second)],
      ["in progress", limits.concurrency === "per-model" ? "each model's own" : `${limits.concurrency}`],
      ["Retry-After", limits.retry_after ? "sent" : "not sent"],
    ];
    for (const [model, value] of Object.entries(limits.create_per_model)) rows.push([`creates, ${model}`, rate(value)]);
    for (const [model, value] of Object.entries(limits.concurrency_per_model)) rows.push([`in progress, ${model}`, `${value}`]);
    $("limits").replaceChildren(...rows.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: value })]));
  }

  const CHECK_NAMES = {
    polls_too_fast: "Polls faster than once a second",
    polls_after_terminal: "Polls after a final status",
    retry_after_ignored: "Retry-After ignored",
    duplicate_submissions: "The same work submitted twice",
    unpolled_tasks: "Tasks created and never read",
  };

  async function drawJournal() {
    const [journal, checks] = await Promise.all([call(`journal?limit=${JOURNAL_ROWS}`), call("journal/checks")]);
    $("journal-rows").replaceChildren(
      ...journal.entries.reverse().map((entry) =>
        el(
          "tr",
          {},
          el("td", { class: "num muted", text: `${entry.seq}` }),
          el("td", { class: "mono", text: clockTime(entry.time_ms) }),
          el("td", { class: "mono", text: entry.method }),
          el("td", { class: "path", title: entry.path, text: entry.path }),
          el("td", { class: `code s${Math.floor(entry.status / 100)}`, text: entry.status ? `${entry.status}` : "none" }),
          el("td", { class: "id", text: entry.account ?? "–" }),
          el("td", { class: "num", text: `${entry.latency_ms} ms` }),
          el("td", { class: "mono small", text: entry.outcome }),
        ),
      ),
    );
    $("checks").replaceChildren(
      ...checks.checks.map((check) => {
        const item = el("li", { class: check.findings.length ? "found" : "", "data-check": check.check });
        item.append(el("span", { class: "name", text: CHECK_NAMES[check.check] ?? check.check }), ` ${check.findings.length ? `— ${check.findings.length} found` : "— none"}`);
        if (check.findings.length) {
          item.append(
            el(
              "ul",
              {},
              ...check.findings.slice(0, 10).map((finding) =>
                el("li", {}, `${finding.message} `, el("span", { class: "seqs", text: `(entries ${finding.seqs.map((s) => `#${s}`).join(", ")})` })),
              ),
            ),
          );
        }
        return item;
      }),
    );
  }

  // -- refreshing ---------------------------------------------------------------------------

  let running = null;
  let again = false;
  let timer = 0;

  async function drawAll() {
    try {
      await Promise.all([drawClock(), drawTasks(), drawScenario(), drawLimits(), drawJournal()]);
      $("connection").textContent = "live · every second";
      $("connection").classList.remove("down");
    } catch (error) {
      $("connection").textContent = `not answering: ${error.message}`;
      $("connection").classList.add("down");
    }
  }

  // One refresh at a time; a call for another while one runs makes one more after it.
  function refresh() {
    clearTimeout(timer);
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await drawAll();
      } while (again);
    })().finally(() => {
      running = null;
      timer = setTimeout(refresh, POLL_MS);
    });
    return running;
  }

  async function act(errorBox, action) {
    errorBox.textContent = "";
    try {
      await action();
    } catch (error) {
      errorBox.textContent = error.message;
    }
    await refresh();
  }

  function advance(seconds) {
    return act($("clock-error"), () => call("clock/advance", { method: "POST", body: { seconds } }));
  }

  function wire() {
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", () => advance(Number(button.dataset.advance)));
    }
    $("advance-form").addEventListener("submit", (event) => {
      event.preventDefault();
      advance(Number($("advance-seconds").value));
    });
    $("reset").addEventListener("click", () => {
      const id = $("reset-account").value;
      act($("clock-error"), () => call(id ? `reset?account_id=${id}` : "reset", { method: "POST" }));
    });
    $("rule-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const line = $("rule-line").value.trim();
      act($("rule-error"), async () => {
        await call("scenarios/rules", { method: "POST", body: { rule: line } });
        $("rule-line").value = "";
      });
    });
    $("rule-rows").addEventListener("click", (event) => {
      const button = event.target.closest("[data-remove]");
      if (button) act($("rule-error"), () => call(`scenarios/rules/${button.dataset.remove}`, { method: "DELETE" }));
    });
    const filters = { "filter-account": "accountId", "filter-model": "model", "filter-status": "status" };
    for (const [id, key] of Object.entries(filters)) {
      $(id).addEventListener("change", () => {
        view[key] = $(id).value;
        view.page = 1;
        refresh();
      });
    }
    $("page-prev").addEventListener("click", () => {
      view.page = Math.max(1, view.page - 1);
      refresh();
    });
    $("page-next").addEventListener("click", () => {
      view.page += 1;
      refresh();
    });
  }

  wire();
  refresh();
})();
