// Hands the identity provider's SAML response on to authgate's second ACS
// step, now as a same-site POST so this browser's session cookie goes with
// it (the identity provider's cross-site POST carried no SameSite=Lax
// cookie). Without JavaScript the person presses the button.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("saml-continue");
  if (form) {
    form.submit();
  }
});
