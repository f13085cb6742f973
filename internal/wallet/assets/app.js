// The cashgate wallet app: a thin client of the wallet app's JSON API.
// Every value from the server is put into the page with textContent, never
// as HTML.
"use strict";
(function () {
  const api = document.body.dataset.api;
  const $ = (id) => document.getElementById(id);
  let me = null;
  let timer = null;

  function say(text, ok) {
    const m = $("msg");
    m.textContent = text;
    m.className = ok ? "ok" : "error";
  }

  async function call(method, path, body) {
    const opt = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    const resp = await fetch(api + path, opt);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      const err = new Error((data && data.error && data.error.message) || ("HTTP " + resp.status));
      err.status = resp.status;
      err.body = data;
      throw err;
    }
    return data;
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  // groupDigits shows an account number as "1234 5678 9012"
  // (wallet.FormatAccountNumber).
  function groupDigits(n) {
    return n.length === 12 ? n.slice(0, 4) + " " + n.slice(4, 8) + " " + n.slice(8) : n;
  }

  function show(loggedIn) {
    $("login-view").hidden = loggedIn;
    $("wallet-view").hidden = !loggedIn;
    $("logout").hidden = !loggedIn;
  }

  async function refresh() {
    try {
      me = await call("GET", "/me");
    } catch (e) {
      if (e.status === 401) { stop(); show(false); return; }
      throw e;
    }
    show(true);
    $("who").textContent = me.user.username;
    $("tier").textContent = me.user.tier;
    $("account-number").textContent = groupDigits(me.user.accountNumber || "");
    $("balance").textContent = me.balance.available;
    const others = (me.balances || []).filter((b) => b.currency !== "EUR");
    $("other-balances").hidden = others.length === 0;
    $("other-balances-list").textContent = others.map((b) => b.available + " " + b.currency).join(" · ");
    $("topup-ref").textContent = me.user.topUpReference;
    $("sandbox").hidden = !me.sandboxTopUps;
    const corp = me.corporate;
    $("corporate").hidden = !corp;
    for (const e of document.querySelectorAll(".private-only")) e.hidden = !!corp;
    if (corp) {
      $("corp-iban").textContent = corp.iban;
      $("corp-verified").textContent = corp.bankVerified ? "verified" : "not verified";
      $("corp-upgrade").textContent = corp.upgradeStatus;
      await loadUpgrade();
    }
    await Promise.all([loadRequests(), loadTransactions()]);
  }

  async function loadRequests() {
    const data = await call("GET", "/requests?status=pending");
    const ul = $("requests");
    const keep = new Set(data.requests.map((r) => r.requestId));
    for (const li of Array.from(ul.children)) {
      if (!keep.has(li.dataset.request)) li.remove();
    }
    if (data.requests.length === 0 && !ul.querySelector(".none")) {
      ul.appendChild(el("li", "No pending requests.", "none"));
    }
    if (data.requests.length > 0) {
      const none = ul.querySelector(".none");
      if (none) none.remove();
    }
    for (const r of data.requests) {
      if (ul.querySelector('[data-request="' + CSS.escape(r.requestId) + '"]')) continue;
      const li = el("li");
      li.dataset.request = r.requestId;
      li.appendChild(el("div", r.merchant + " requests " + r.amount + " EUR"));
      if (r.originalCurrency !== "EUR") {
        li.appendChild(el("div", "(" + r.originalAmount + " " + r.originalCurrency + " converted at " + r.rate + ")", "small"));
      }
      li.appendChild(el("div", r.description, "small"));
      li.appendChild(el("div", "Decide before " + new Date(r.expiresAt).toLocaleString(), "small"));
      const pin = el("input");
      pin.type = "password";
      pin.inputMode = "numeric";
      pin.placeholder = "PIN";
      pin.className = "pin";
      const ok = el("button", "Approve", "approve");
      ok.type = "button";
      ok.addEventListener("click", async () => {
        try {
          await call("POST", "/requests/" + encodeURIComponent(r.requestId) + "/approve", { pin: pin.value });
          pin.value = "";
          say("Paid " + r.amount + " EUR to " + r.merchant + ".", true);
          await refresh();
        } catch (e) { say(e.message, false); }
      });
      const no = el("button", "Deny", "deny");
      no.type = "button";
      no.addEventListener("click", async () => {
        try {
          await call("POST", "/requests/" + encodeURIComponent(r.requestId) + "/deny");
          say("Request denied.", true);
          await refresh();
        } catch (e) { say(e.message, false); }
      });
      li.append(pin, ok, no);
      ul.appendChild(li);
    }
  }

  async function loadTransactions() {
    const data = await call("GET", "/transactions?limit=25");
    const body = $("transactions").querySelector("tbody");
    body.replaceChildren();
    for (const t of data.transactions) {
      const tr = el("tr");
      tr.dataset.tx = t.id;
      tr.append(el("td", new Date(t.createdAt).toLocaleString()), el("td", t.type), el("td", t.counterparty),
        el("td", t.currency === "EUR" ? t.amount : t.amount + " " + t.currency, "num"), el("td", t.fee, "num"),
        el("td", t.currency === "EUR" ? t.net : t.net + " " + t.currency, "num"), el("td", t.status),
        el("td", t.returnReason ? t.description + " (returned by the bank: " + t.returnReason + ")" : t.description));
      body.appendChild(tr);
    }
  }

  function start() {
    stop();
    timer = setInterval(() => { refresh().catch((e) => say(e.message, false)); }, 2000);
  }
  function stop() { if (timer) clearInterval(timer); timer = null; }

  function form(id, fn) {
    $(id).addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try { await fn(); } catch (e) { say(e.message, false); }
    });
  }

  form("login-form", async () => {
    await call("POST", "/login", { username: $("username").value, password: $("password").value });
    $("password").value = "";
    $("msg").textContent = "";
    $("msg").className = "";
    await refresh();
    start();
  });
  form("signup-form", async () => {
    await call("POST", "/signup", { username: $("su-username").value, password: $("su-password").value, pin: $("su-pin").value });
    say("Signed up: now log in.", true);
    $("username").value = $("su-username").value;
  });
  form("send-form", async () => {
    const t = await call("POST", "/send", { to: $("send-to").value, amount: $("send-amount").value, description: $("send-desc").value });
    say("Sent " + t.amount + " EUR (fee " + t.fee + " EUR).", true);
    await refresh();
  });
  form("topup-form", async () => {
    const t = await call("POST", "/topups/simulate", { amount: $("topup-amount").value, currency: $("topup-currency").value });
    say("Topped up " + t.amount + " " + t.currency + ".", true);
    await refresh();
  });
  form("withdraw-form", async () => {
    const body = { amount: $("wd-amount").value, pin: $("wd-pin").value };
    if (!me.corporate) { body.iban = $("wd-iban").value; body.bic = $("wd-bic").value; body.name = $("wd-name").value; }
    const t = await call("POST", "/withdrawals", body);
    $("wd-pin").value = "";
    say("Withdrawal of " + t.amount + " EUR requested (fee " + t.fee + " EUR).", true);
    await refresh();
  });
  form("verify-form", async () => {
    await call("POST", "/bank-account/verify", { code: $("verify-code").value });
    say("Bank account verified.", true);
    await refresh();
  });
  $("verify-request").addEventListener("click", async () => {
    try { await call("POST", "/bank-account/verification"); say("A 2-cent transfer with the code is on its way.", true); await refresh(); }
    catch (e) { say(e.message, false); }
  });
  // loadUpgrade shows the Corporate+ documents, the operator's message
  // and the account details with a change waiting for approval.
  async function loadUpgrade() {
    const up = await call("GET", "/upgrade");
    const kinds = $("doc-kind");
    if (kinds.options.length === 0) {
      for (const k of up.kinds) { const o = el("option", k.label); o.value = k.name; kinds.appendChild(o); }
    }
    const list = $("documents");
    list.textContent = "";
    for (const d of up.documents) list.appendChild(el("li", d.kindLabel + ": " + d.filename + (d.sent ? " (sent)" : " (not sent yet)")));
    $("upgrade-message").hidden = !up.message;
    $("upgrade-message").textContent = up.message ? "Customer service: " + up.message : "";
    $("document-form").hidden = !up.canUpload;
    $("upgrade-btn").hidden = !up.canSend;
    const det = await call("GET", "/account/details");
    if (!$("det-name").value) {
      $("det-name").value = det.account.companyName; $("det-iban").value = det.account.iban; $("det-bic").value = det.account.bic;
    }
    const ch = det.change;
    $("details-change").hidden = !ch || ch.status === "approved";
    $("details-change").textContent = !ch ? "" : ch.status === "pending" ? "The company name " + ch.companyName + " waits for customer service's approval." :
      "Customer service rejected the company name " + ch.companyName + ": " + ch.reason;
  }

  form("document-form", async () => {
    const file = $("doc-file").files[0];
    const q = "?kind=" + encodeURIComponent($("doc-kind").value) + "&filename=" + encodeURIComponent(file.name);
    const resp = await fetch(api + "/upgrade/documents" + q, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
    const data = await resp.json().catch(() => null);
    if (!resp.ok) throw new Error((data && data.error && data.error.message) || ("HTTP " + resp.status));
    $("doc-file").value = "";
    say(file.name + " is uploaded.", true);
    await refresh();
  });

  form("details-form", async () => {
    const d = await call("POST", "/account/details", { companyName: $("det-name").value, iban: $("det-iban").value, bic: $("det-bic").value });
    say(d.bankReset ? "Saved: verify the new bank account before the next withdrawal." : "Saved.", true);
    await refresh();
  });

  $("upgrade-btn").addEventListener("click", async () => {
    try { await call("POST", "/upgrade"); say("Corporate+ requested.", true); await refresh(); }
    catch (e) { say(e.message, false); }
  });
  $("logout").addEventListener("click", async () => {
    try { await call("POST", "/logout"); } catch (e) { /* gone anyway */ }
    stop(); show(false); say("Logged out.", true);
  });

  refresh().then(() => { if (me) start(); }).catch(() => show(false));
})();
