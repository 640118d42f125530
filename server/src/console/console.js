// gridsync relay console: vanilla JS over the relay's admin API (same origin), no
// dependencies. The admin token lives in sessionStorage only (this tab, until it closes).
"use strict";

(function () {
  const TOKEN_KEY = "gridsync-admin-token";
  const REFRESH_MS = 10000;
  const DAYS = 14;
  const DAY_MS = 86400000;

  const $ = (id) => document.getElementById(id);
  let timer = null;
  let pending = null; // { device, action } the confirm dialog is about

  // What each action's dialog says, and the API call it makes (ADR 0007, 0008).
  const ACTIONS = {
    revoke: {
      button: ["撤销", "Revoke"],
      title: ["撤销设备？", "Revoke device?"],
      warn: ["撤销后该设备立即无法同步，且不能恢复。", "The device stops syncing at once; this cannot be undone."],
      danger: true,
    },
    wipe: {
      button: ["擦除", "Wipe"],
      title: ["远程擦除设备？", "Wipe device remotely?"],
      warn: [
        "设备下次联网时删除本机全部数据；此后未同步的工作不再被接受。用于丢失或被盗的手机。",
        "At its next contact the phone erases its store; nothing it has not synced is accepted from then on. For a lost or stolen phone.",
      ],
      danger: true,
    },
    rescope: {
      button: ["调整范围", "Rescope"],
      title: ["调整网格范围？", "Change the device's grids?"],
      warn: [
        "设备下次联网时获得新网格，旧网格的记录在其工作上传后从手机移除。",
        "At its next contact the phone gets the new grids; records of grids it loses leave it once its work there is uploaded.",
      ],
      danger: false,
    },
  };

  /** An element with a class and text (text is set as text, never parsed as HTML). */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  /** "中文 English" as two spans, the English one muted. */
  function bilingual(zh, en) {
    const s = el("span", null, zh + " ");
    s.appendChild(el("span", "en", en));
    return s;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message ? "错误 Error: " + message : "";
    box.hidden = !message;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  /** Calls the admin API; throws an Error carrying the relay's message on any failure. */
  async function api(method, path, json) {
    let res;
    const headers = { Authorization: "Bearer " + token() };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    try {
      res = await fetch(path, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        cache: "no-store",
      });
    } catch (e) {
      throw new Error("无法连接中继 cannot reach the relay (" + e.message + ")");
    }
    const text = await res.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch (_) {
      body = null;
    }
    if (!res.ok || !body || body.ok === "error") {
      const why = body && body.message ? body.message : text.trim() || res.statusText;
      const err = new Error("HTTP " + res.status + ": " + why);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function stateOf(d) {
    if (d.wiped_at) return ["wipe", "已擦除", "Wiped"];
    if (d.wipe_requested_at) return ["wipe", "待擦除", "Wipe requested"];
    if (d.revoked_at) return ["revoked", "已撤销", "Revoked"];
    return ["active", "正常", "Active"];
  }

  function localTime(ms) {
    if (ms === null || ms === undefined) return "从未 Never";
    return new Date(ms).toLocaleString("zh-CN", { hour12: false });
  }

  function deviceRow(d) {
    const a = d.activity || {};
    const [state, zh, en] = stateOf(d);
    const tr = el("tr", state === "active" ? "" : "revoked");
    tr.dataset.deviceName = d.name;
    tr.dataset.deviceId = d.id;
    tr.dataset.state = state;
    if (d.stuck) tr.classList.add("stuck");
    tr.appendChild(el("td", "name", d.name));
    tr.appendChild(el("td", "worker", d.grants.display_name || d.grants.worker));
    tr.appendChild(el("td", "scopes", (d.grants.scopes || []).join(", ")));
    const st = el("td", "state");
    const badge = el("span", "badge " + state);
    badge.appendChild(bilingual(zh, en));
    st.appendChild(badge);
    if (d.stuck) st.appendChild(el("span", "badge stuck", "卡住 STUCK"));
    tr.appendChild(st);
    const online = el("td", "online");
    online.appendChild(el("span", d.online ? "dot on" : "dot"));
    online.appendChild(d.online ? bilingual("在线", "Online") : bilingual("离线", "Offline"));
    tr.appendChild(online);
    tr.appendChild(el("td", "last-seen", localTime(a.last_seen)));
    tr.appendChild(el("td", "agent", a.agent || "—"));
    tr.appendChild(el("td", "num lag", d.lag === null || d.lag === undefined ? "—" : d.lag));
    const waiting = a.pending;
    tr.appendChild(el("td", "num pending", waiting === null || waiting === undefined ? "—" : waiting));
    tr.appendChild(el("td", "num refused", a.refused || 0));
    tr.appendChild(el("td", "err", a.last_error || ""));
    const act = el("td", "action");
    if (state === "active") {
      for (const action of ["rescope", "wipe", "revoke"]) {
        const spec = ACTIONS[action];
        const b = el("button", (spec.danger ? "danger " : "") + action);
        b.type = "button";
        b.appendChild(bilingual(...spec.button));
        b.addEventListener("click", () => ask(d, action));
        act.appendChild(b);
      }
    }
    tr.appendChild(act);
    return tr;
  }

  function renderDevices(devices) {
    const body = $("devices").tBodies[0];
    body.replaceChildren(...devices.map(deviceRow));
    $("device-count").textContent = "(" + devices.length + ")";
  }

  /** The last DAYS UTC days, oldest first, as YYYY-MM-DD. */
  function lastDays() {
    const today = Math.floor(Date.now() / DAY_MS);
    const out = [];
    for (let d = today - DAYS + 1; d <= today; d++) {
      out.push(new Date(d * DAY_MS).toISOString().slice(0, 10));
    }
    return out;
  }

  function renderActivity(rows) {
    const days = lastDays();
    const byGrid = new Map();
    let max = 0;
    for (const r of rows) {
      if (!byGrid.has(r.grid)) byGrid.set(r.grid, new Map());
      byGrid.get(r.grid).set(r.day, r.changes);
      max = Math.max(max, r.changes);
    }
    const head = $("activity").tHead.rows[0];
    const cells = [el("th", "grid")];
    cells[0].appendChild(bilingual("网格", "Grid"));
    for (const day of days) cells.push(el("th", "day", day.slice(5)));
    const total = el("th", "total");
    total.appendChild(bilingual("合计", "Total"));
    cells.push(total);
    head.replaceChildren(...cells);
    const grids = [...byGrid.keys()].sort();
    $("activity").tBodies[0].replaceChildren(...grids.map((g) => activityRow(g, byGrid.get(g), days, max)));
    $("activity-empty").hidden = grids.length > 0;
  }

  function activityRow(grid, counts, days, max) {
    const tr = el("tr");
    tr.dataset.grid = grid;
    tr.appendChild(el("td", "grid", grid));
    let sum = 0;
    for (const day of days) {
      const n = counts.get(day) || 0;
      sum += n;
      const td = el("td", "cell");
      td.dataset.day = day;
      td.dataset.count = n;
      td.title = grid + " " + day + ": " + n;
      if (n > 0) {
        td.appendChild(el("div", "n", n));
        const bar = el("div", "bar");
        bar.style.height = Math.max(2, Math.round((28 * n) / Math.max(max, 1))) + "px";
        td.appendChild(bar);
      }
      tr.appendChild(td);
    }
    const t = el("td", "total", sum);
    t.dataset.count = sum;
    tr.appendChild(t);
    return tr;
  }

  async function refresh() {
    if (!token()) return;
    $("status").textContent = "加载中 Loading…";
    try {
      const [devices, activity] = await Promise.all([
        api("GET", "/api/devices"),
        api("GET", "/api/activity?days=" + DAYS),
      ]);
      renderDevices(devices.devices);
      renderActivity(activity.days);
      showError(null);
      $("updated").textContent = "更新于 Updated " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
      $("status").textContent = "";
    } catch (e) {
      $("status").textContent = "";
      showError(e.message);
      if (e.status === 401 || e.status === 403) signOut(true);
    }
  }

  /** Opens the confirm dialog for `action` on device `d`. */
  function ask(d, action) {
    const spec = ACTIONS[action];
    pending = { device: d, action };
    $("confirm-title").replaceChildren(bilingual(...spec.title));
    $("confirm-warn").replaceChildren(bilingual(...spec.warn));
    $("confirm-warn").className = spec.danger ? "warn" : "hint";
    const ok = $("confirm-ok");
    ok.replaceChildren(bilingual(...spec.button));
    ok.className = spec.danger ? "danger" : "";
    ok.dataset.action = action;
    $("confirm-scopes-row").hidden = action !== "rescope";
    $("confirm-scopes").value = (d.grants.scopes || []).join(" ");
    const text = $("confirm-text");
    text.replaceChildren(
      bilingual("设备", "Device"),
      el("span", null, ": "),
      el("strong", null, d.name),
      el("span", null, " (" + d.id + ") · " + (d.grants.display_name || d.grants.worker))
    );
    $("confirm").hidden = false;
    $("confirm-cancel").focus();
  }

  function closeConfirm() {
    pending = null;
    $("confirm").hidden = true;
  }

  async function confirmAction() {
    if (!pending) return;
    const { device, action } = pending;
    let body;
    if (action === "rescope") {
      const scopes = $("confirm-scopes").value.split(/[\s,，]+/).filter((x) => x);
      if (scopes.length === 0) {
        showError("至少需要一个网格 at least one grid is needed");
        return;
      }
      body = { scopes };
    }
    closeConfirm();
    try {
      await api("POST", "/api/devices/" + encodeURIComponent(device.id) + "/" + action, body);
      showError(null);
    } catch (e) {
      showError(e.message);
      return;
    }
    await refresh();
  }

  function signIn(t) {
    sessionStorage.setItem(TOKEN_KEY, t);
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = false;
    $("refresh").hidden = false;
    if (timer) clearInterval(timer);
    timer = setInterval(refresh, REFRESH_MS);
    refresh();
  }

  /** Back to the token form; `keepError` leaves the last error showing (why). */
  function signOut(keepError) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (timer) clearInterval(timer);
    timer = null;
    closeConfirm();
    $("main").hidden = true;
    $("login").hidden = false;
    $("logout").hidden = true;
    $("refresh").hidden = true;
    if (!keepError) showError(null);
    $("token").value = "";
    $("token").focus();
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("token").value.trim();
    if (t) signIn(t);
  });
  $("logout").addEventListener("click", () => signOut(false));
  $("refresh").addEventListener("click", refresh);
  $("confirm-cancel").addEventListener("click", closeConfirm);
  $("confirm-ok").addEventListener("click", confirmAction);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !$("confirm").hidden) closeConfirm();
  });

  if (token()) signIn(token());
})();
