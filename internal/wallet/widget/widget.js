// cashgate — "Pay with cashgate wallet" widget loader.
//
//   <div id="cashgate-wallet"></div>
//   <script src="https://PUBLIC/wallet/widget.js" data-token="cgwt_….…" data-target="#cashgate-wallet" async></script>
//
// It inserts the widget's iframe (into data-target, else right after the
// script tag) and turns the frame's messages into DOM events on the iframe
// element, which bubble to the document:
//
//   "cashgate-wallet"            every change; event.detail = {state, widgetId, requestId}
//   "cashgate-wallet-approved"   (and -pending, -denied, -expired)
//
// Only messages from cashgate's own origin and from this very frame count.
(function () {
  "use strict";
  var base = "__CASHGATE_PUBLIC_URL__";
  var script = document.currentScript;
  if (!script) {
    return;
  }
  var token = script.getAttribute("data-token") || "";
  var dot = token.indexOf(".");
  if (token.indexOf("cgwt_") !== 0 || dot < 0) {
    console.error("cashgate wallet widget: data-token is missing or not a widget token");
    return;
  }
  var origin = new URL(base).origin;
  var frame = document.createElement("iframe");
  frame.src = base + "/wallet/widget/frame?w=" + encodeURIComponent(token.slice(0, dot)) + "#" + encodeURIComponent(token.slice(dot + 1));
  frame.title = "Pay with cashgate wallet";
  frame.className = "cashgate-wallet-widget";
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.style.cssText = "border:0;display:block;width:100%;max-width:26rem;height:22rem;color-scheme:normal";
  var sel = script.getAttribute("data-target");
  var target = sel ? document.querySelector(sel) : null;
  if (target) {
    target.appendChild(frame);
  } else {
    script.parentNode.insertBefore(frame, script.nextSibling);
  }
  var last = "";
  window.addEventListener("message", function (ev) {
    if (ev.origin !== origin || ev.source !== frame.contentWindow) {
      return;
    }
    var d = ev.data;
    if (!d || d.source !== "cashgate-wallet") {
      return;
    }
    if (d.type === "resize") {
      var h = Math.min(Math.max(Number(d.height) || 0, 160), 1200);
      frame.style.height = h + "px";
      return;
    }
    if (d.type !== "state" || typeof d.state !== "string" || d.state === last) {
      return;
    }
    last = d.state;
    var detail = { state: d.state, widgetId: String(d.widgetId || ""), requestId: d.requestId ? String(d.requestId) : null };
    frame.dispatchEvent(new CustomEvent("cashgate-wallet", { detail: detail, bubbles: true }));
    frame.dispatchEvent(new CustomEvent("cashgate-wallet-" + d.state, { detail: detail, bubbles: true }));
  });
})();
