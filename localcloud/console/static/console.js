// localcloud's console: polls /_console/state.json and shows it. Every value from the cloud (message
// bodies, log lines, names) is someone's data: it reaches the page as text nodes only, never as markup.
"use strict";

(function () {
  const POLL_MS = 2000;
  const STATE_URL = "/_console/state.json";
  const EXECUTION_URL = "/_console/execution.json?arn=";
  const PARTS = {
    outputs: { label: "stack outputs", render: renderOutputs },
    resources: { label: "resources", render: renderResources },
    stateMachines: { label: "Step Functions executions", render: renderStateMachines },
    lambdaLogs: { label: "Lambda logs", render: renderLogs },
    topics: { label: "SNS messages", render: renderTopics },
    emails: { label: "sent emails", render: renderEmails },
    deadLetterQueues: { label: "dead-letter queues", render: renderDeadLetterQueues },
  };

  const shown = {}; // part -> the JSON text it was last drawn from
  const openDetails = new Set(); // data-key of every <details> the reader opened
  let selected = null; // {arn, name} of the execution whose history is shown
  let shownHistory = null;
  let paused = false;
  let timer = null;
  let loaded = false;

  // ---- building blocks ------------------------------------------------------------------------------
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child)); // a string becomes a text node
      }
    }
    return node;
  }

  function time(value) {
    return value ? value.replace("T", " ").replace("Z", " UTC") : "none";
  }

  function text(value) {
    return el("span", { class: "text" }, value === null || value === undefined || value === "" ? "none" : value);
  }

  function attributesText(attributes) {
    const names = Object.keys(attributes || {});
    return names.length ? names.map((name) => name + "=" + attributes[name]).join("\n") : "none";
  }

  // columns: [{label, cell(row) -> Node or text, header: true for the column that names the row}]
  function table(caption, columns, rows) {
    return el(
      "table",
      null,
      el("caption", null, caption),
      el("thead", null, el("tr", null, columns.map((column) => el("th", { scope: "col" }, column.label)))),
      el(
        "tbody",
        null,
        rows.map((row) =>
          el(
            "tr",
            null,
            columns.map((column) =>
              column.header ? el("th", { scope: "row" }, column.cell(row)) : el("td", null, column.cell(row)),
            ),
          ),
        ),
      ),
    );
  }

  function details(key, summary, ...content) {
    const node = el("details", { "data-key": key }, el("summary", null, summary), ...content);
    node.open = openDetails.has(key);
    node.addEventListener("toggle", () => (node.open ? openDetails.add(key) : openDetails.delete(key)));
    return node;
  }

  function count(number, one, many) {
    return `${number} ${number === 1 ? one : many}`;
  }

  // "3 executions, newest first (showing 2)": `what` is [singular, plural, how they are ordered]
  function showing(shownCount, total, what) {
    const counted = count(total, what[0], what[1]) + (what[2] ? ", " + what[2] : "");
    return shownCount < total ? `${counted} (showing ${shownCount})` : counted;
  }

  function idle(label, names) {
    return names.length ? el("p", { class: "idle" }, `${label}: ${names.join(", ")}`) : null;
  }

  // ---- the parts ------------------------------------------------------------------------------------
  function renderOutputs(outputs, snapshot) {
    if (!outputs.length) return el("p", null, "The stack has no outputs (yet).");
    return table(`Outputs of stack ${snapshot.stack}`, [
      { label: "Name", header: true, cell: (row) => row.name },
      { label: "Value", cell: (row) => text(row.value) },
    ], outputs);
  }

  function renderResources(groups) {
    if (!groups.length) return el("p", null, "Nothing deployed (yet).");
    return groups.map((group) =>
      details(
        "resources:" + group.system,
        `${group.system}: ${count(group.count, "resource", "resources")}`,
        group.components.length ? el("p", null, "Components: " + group.components.join(", ")) : null,
        table(`Resources of ${group.system}`, [
          { label: "Type", cell: (row) => row.type },
          { label: "Name", header: true, cell: (row) => row.name },
          { label: "Region", cell: (row) => row.region || "none" },
          { label: "Physical id", cell: (row) => text(row.id) },
          { label: "Note", cell: (row) => (row.skipped ? "skipped: no local meaning" : "") },
        ], group.resources),
      ),
    );
  }

  function executionButton(execution) {
    const isSelected = selected !== null && selected.arn === execution.arn;
    return el(
      "button",
      {
        type: "button",
        class: "execution",
        "data-arn": execution.arn,
        "data-name": execution.name,
        "aria-controls": "history",
        "aria-current": isSelected ? "true" : false,
        "aria-label": `${execution.name}, show its history`,
      },
      execution.name,
    );
  }

  function renderStateMachines(machines) {
    if (!machines.length) return el("p", null, "No state machines.");
    const active = machines.filter((machine) => machine.total > 0);
    return [
      active.length ? null : el("p", null, "No executions yet."),
      active.map((machine) =>
        el(
          "div",
          { class: "group" },
          el("h3", null, `${machine.name} (${machine.region}, ${machine.type})`),
          table(showing(machine.executions.length, machine.total, ["execution", "executions", "newest first"]), [
            { label: "Execution", header: true, cell: (row) => executionButton(row) },
            { label: "Status", cell: (row) => el("span", { class: "status " + row.status.toLowerCase() }, row.status) },
            { label: "Started", cell: (row) => time(row.started) },
            { label: "Stopped", cell: (row) => time(row.stopped) },
            { label: "Error", cell: (row) => text(row.error) },
          ], machine.executions),
        ),
      ),
      idle("State machines without executions", machines.filter((machine) => !machine.total).map((machine) => `${machine.name} (${machine.region})`)),
    ];
  }

  function renderHistory(history) {
    return [
      el("p", null, `${history.machine} / ${history.name}: ${history.status}, started ${time(history.started)}, stopped ${time(history.stopped)}`),
      history.error ? el("p", { class: "error" }, "Error: ", text(history.error), ". Cause: ", text(history.cause)) : null,
      history.events.length
        ? table(`History of ${history.name}: ${count(history.events.length, "event", "events")}, oldest first`, [
            { label: "#", header: true, cell: (row) => String(row.id) },
            { label: "Time", cell: (row) => time(row.timestamp) },
            { label: "Type", cell: (row) => row.type },
            { label: "State", cell: (row) => row.state || "" },
            { label: "Error", cell: (row) => (row.error ? text(row.error) : "") },
            { label: "Cause", cell: (row) => (row.cause ? text(row.cause) : "") },
          ], history.events)
        : el("p", null, "No history events (yet)."),
    ];
  }

  function renderLogs(functions) {
    if (!functions.length) return el("p", null, "No Lambda functions.");
    const logged = functions.filter((fn) => fn.total > 0);
    return [
      logged.map((fn) =>
        details(
          `logs:${fn.region}:${fn.function}`,
          `${fn.function} (${fn.region}): ${count(fn.total, "log event", "log events")}`,
          table(`${showing(fn.events.length, fn.total, ["event", "events"])} of ${fn.logGroup}, oldest first`, [
            { label: "Time", header: true, cell: (row) => time(row.timestamp) },
            { label: "Message", cell: (row) => text(row.message) },
          ], fn.events),
        ),
      ),
      idle("Functions with no log events yet", functions.filter((fn) => !fn.total).map((fn) => `${fn.function} (${fn.region})`)),
    ];
  }

  function renderTopics(topics) {
    if (!topics.length) return el("p", null, "No SNS topics.");
    const used = topics.filter((topic) => topic.total > 0);
    return [
      used.length ? null : el("p", null, "Nothing published yet."),
      used.map((topic) =>
        el(
          "div",
          { class: "group" },
          el("h3", null, `${topic.topic} (${topic.region})`),
          table(showing(topic.messages.length, topic.total, ["message published", "messages published", "newest first"]), [
            { label: "Message id", header: true, cell: (row) => row.messageId },
            { label: "Subject", cell: (row) => text(row.subject) },
            { label: "Message", cell: (row) => text(row.message) },
            { label: "Attributes", cell: (row) => text(attributesText(row.attributes)) },
          ], topic.messages),
        ),
      ),
      idle("Topics with nothing published", topics.filter((topic) => !topic.total).map((topic) => `${topic.topic} (${topic.region})`)),
    ];
  }

  function renderEmails(sent) {
    if (!sent.total) return el("p", null, "No email sent yet.");
    return table(showing(sent.emails.length, sent.total, ["email sent", "emails sent", "newest first"]), [
      { label: "Subject", header: true, cell: (row) => row.subject || "(no subject)" },
      { label: "From", cell: (row) => row.source },
      { label: "To", cell: (row) => row.to.join(", ") },
      { label: "Region", cell: (row) => row.region },
      { label: "Body", cell: (row) => text(row.body) },
    ], sent.emails);
  }

  function renderDeadLetterQueues(queues) {
    if (!queues.length) return el("p", null, "No dead-letter queues.");
    return queues.map((queue) =>
      el(
        "div",
        { class: "group" },
        el("h3", null, `${queue.queue} (${queue.region})`),
        el("p", null, "Dead letters of: " + (queue.sources.length ? queue.sources.join(", ") : "nothing configured (named as a DLQ)")),
        queue.total
          ? table(showing(queue.messages.length, queue.total, ["message", "messages", "oldest first"]), [
              { label: "Message id", header: true, cell: (row) => row.messageId },
              { label: "Sent", cell: (row) => time(row.sent) },
              { label: "Receives", cell: (row) => String(row.receiveCount) },
              { label: "Attributes", cell: (row) => text(attributesText(row.attributes)) },
              { label: "Body", cell: (row) => text(row.body) },
            ], queue.messages)
          : el("p", null, "Empty."),
      ),
    );
  }

  // ---- drawing without losing the reader's place ----------------------------------------------------
  function focusSelector(container) {
    const active = document.activeElement;
    if (!active || !container.contains(active)) return null;
    if (active.dataset.arn) return `[data-arn="${CSS.escape(active.dataset.arn)}"]`;
    const opened = active.closest("details[data-key]");
    return opened ? `details[data-key="${CSS.escape(opened.dataset.key)}"] > summary` : null;
  }

  function draw(container, content) {
    const refocus = focusSelector(container);
    container.replaceChildren(...[content].flat(Infinity).filter((node) => node));
    if (refocus) {
      const again = container.querySelector(refocus);
      if (again) again.focus();
    }
  }

  function say(message) {
    const status = document.getElementById("status");
    if (status.textContent !== message) status.textContent = message;
  }

  function drawSnapshot(snapshot) {
    document.getElementById("stack-name").textContent = snapshot.stack ? `(stack ${snapshot.stack})` : "";
    const changed = [];
    for (const [part, how] of Object.entries(PARTS)) {
      const error = snapshot.errors && snapshot.errors[part];
      const drawn = JSON.stringify(error ? { error } : snapshot[part]);
      if (shown[part] === drawn) continue;
      shown[part] = drawn;
      changed.push(how.label);
      const container = document.querySelector(`[data-part="${part}"]`);
      draw(container, error ? el("p", { class: "error" }, "Could not be read: ", error) : how.render(snapshot[part], snapshot));
    }
    document.getElementById("refreshed").textContent = new Date().toLocaleTimeString();
    if (!loaded) {
      loaded = true;
      say("Loaded. Updates every 2 seconds.");
    } else if (changed.length) {
      say("Updated: " + changed.join(", ") + ".");
    }
  }

  async function fetchJson(url) {
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  async function loadHistory(moveFocus) {
    if (selected === null) return;
    const container = document.getElementById("history-content");
    const heading = document.getElementById("history-heading");
    try {
      const history = await fetchJson(EXECUTION_URL + encodeURIComponent(selected.arn));
      const drawn = JSON.stringify(history);
      if (drawn !== shownHistory) {
        shownHistory = drawn;
        heading.textContent = `Execution history: ${history.name}`;
        draw(container, renderHistory(history));
      }
    } catch (failure) {
      draw(container, el("p", { class: "error" }, `Could not read the history of ${selected.name}: ${failure.message}`));
    }
    if (moveFocus) {
      heading.focus();
      say(`Showing the history of ${selected.name}.`);
    }
  }

  async function poll() {
    timer = null;
    try {
      drawSnapshot(await fetchJson(STATE_URL));
      await loadHistory(false);
    } catch (failure) {
      say(`Cannot reach localcloud (${failure.message}); trying again every 2 seconds.`);
    }
    if (!paused) timer = window.setTimeout(poll, POLL_MS);
  }

  function choose(button) {
    selected = { arn: button.dataset.arn, name: button.dataset.name };
    shownHistory = null;
    for (const other of document.querySelectorAll("button.execution")) {
      if (other.dataset.arn === selected.arn) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    }
    loadHistory(true);
  }

  function togglePause(button) {
    paused = !paused;
    button.textContent = paused ? "Resume updates" : "Pause updates";
    if (paused) {
      if (timer !== null) window.clearTimeout(timer);
      timer = null;
      say("Updates paused.");
    } else {
      say("Updates resumed.");
      poll();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelector('[data-part="stateMachines"]').addEventListener("click", (event) => {
      const button = event.target.closest("button.execution");
      if (button) choose(button);
    });
    const pause = document.getElementById("pause");
    pause.addEventListener("click", () => togglePause(pause));
    poll();
  });
})();
