// The "Pay with cashgate wallet" frame: asks for the username, makes the
// money request with the widget token, polls its status and tells the
// shop's page (the token's registered origin only) what happened.
(function () {
  "use strict";
  var body = document.body;
  var parentOrigin = body.getAttribute("data-origin");
  var widgetId = body.getAttribute("data-widget");
  var secret = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", location.pathname + location.search); // the secret stays in memory only
  var token = widgetId + "." + secret;
  var $ = function (id) { return document.getElementById(id); };
  var states = ["ask", "wait", "approved", "denied", "expired"];
  var timer = 0;

  function api(method, path, payload) {
    var init = { method: method, headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store" };
    if (payload) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch("/wallet/widget/v1" + path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { ok: r.ok, status: r.status, body: j }; });
    });
  }

  function tell(msg) {
    msg.source = "cashgate-wallet";
    msg.widgetId = widgetId;
    if (window.parent !== window) {
      window.parent.postMessage(msg, parentOrigin); // never "*": only the registered origin receives it
    }
  }

  function resize() {
    // The card's own height (the document's is at least the frame's).
    tell({ type: "resize", height: Math.ceil(document.querySelector("main").getBoundingClientRect().bottom) + 2 });
  }

  function failure(text) {
    var f = $("failure");
    f.textContent = text;
    f.hidden = !text;
    resize();
  }

  function show(st) {
    $("loading").hidden = true;
    $("summary").hidden = false;
    $("merchant").textContent = st.merchant;
    $("amount").textContent = st.amount + " " + st.currency;
    $("description").textContent = st.description;
    var section = st.state === "ready" ? "ask" : st.state === "pending" ? "wait" : st.state;
    states.forEach(function (s) { $(s).hidden = s !== section; });
    if (st.requestExpiresAt) {
      $("until").textContent = new Date(st.requestExpiresAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    tell({ type: "state", state: st.state, requestId: st.requestId || null });
    resize();
    clearTimeout(timer);
    if (st.state === "pending") {
      timer = setTimeout(poll, 2000);
    } else if (st.state === "ready") {
      timer = setTimeout(poll, Math.max(1000, Math.min(new Date(st.expiresAt) - Date.now() + 500, 30000)));
    }
  }

  function poll() {
    api("GET", "/status").then(function (r) {
      if (r.ok) {
        failure("");
        show(r.body);
      } else if (r.status === 401) {
        states.forEach(function (s) { $(s).hidden = s !== "expired"; });
        $("loading").hidden = true;
        tell({ type: "state", state: "expired", requestId: null });
      } else {
        failure((r.body.error && r.body.error.message) || "Something went wrong; trying again.");
        timer = setTimeout(poll, 4000);
      }
    }, function () {
      failure("No connection to cashgate; trying again.");
      timer = setTimeout(poll, 4000);
    });
  }

  $("ask").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = $("username");
    var name = input.value.trim();
    var err = $("username-error");
    if (!name) {
      err.textContent = "Type the username of your cashgate wallet.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    $("pay").disabled = true;
    api("POST", "/requests", { username: name }).then(function (r) {
      $("pay").disabled = false;
      if (r.ok) {
        err.textContent = "";
        input.removeAttribute("aria-invalid");
        $("who").textContent = name;
        show(r.body);
        return;
      }
      var e = r.body.error || {};
      err.textContent = e.code === "not_found" ? "There is no cashgate wallet with this username." : (e.message || "The payment could not be started.");
      input.setAttribute("aria-invalid", "true");
      input.focus();
      resize();
      if (r.status === 403 || r.status === 409) {
        poll();
      }
    }, function () {
      $("pay").disabled = false;
      err.textContent = "No connection to cashgate; try again.";
    });
  });

  poll();
})();
