// Starts Swagger UI on /docs: the spec's URL is the container's data-spec-url (no inline script, so the
// page's Content-Security-Policy allows scripts from this origin only).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null  // no badge fetched from validator.swagger.io (it would send the spec's URL there)
  });
});
