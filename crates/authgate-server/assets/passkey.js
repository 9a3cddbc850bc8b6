// Passkeys on authgate's pages (no inline script: the CSP forbids it).
// A form with data-passkey="register" or "sign-in" gets its WebAuthn
// ceremony here: fetch the options (data-options), ask the browser, put
// the answer (JSON) in the form's "credential" field, and submit the form
// normally, so the server answers with a page or a redirect as usual.
"use strict";
(function () {
  function fail(form, msg) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) { box.textContent = msg; box.hidden = false; box.focus && box.focus(); }
  }
  async function ceremony(form, kind) {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      fail(form, "This browser cannot use passkeys.");
      return;
    }
    var body = new URLSearchParams();
    var csrf = form.querySelector("input[name=csrf]");
    var r = form.querySelector("input[name=r]");
    if (r) body.set("r", r.value);
    var res = await fetch(form.dataset.options, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf ? csrf.value : "", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    });
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok || !data.publicKey) {
      fail(form, data.error || "The server refused to start the passkey request.");
      return;
    }
    var cred;
    try {
      if (kind === "register") {
        cred = await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(data.publicKey),
        });
      } else {
        cred = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(data.publicKey),
        });
      }
    } catch (e) {
      fail(form, "The passkey request was cancelled or failed (" + e.name + ").");
      return;
    }
    form.querySelector("input[name=credential]").value = JSON.stringify(cred.toJSON());
    form.submit();
  }
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.querySelector("input[name=credential]").value) return;
      ev.preventDefault();
      ceremony(form, form.dataset.passkey);
    });
  });
})();
