// Swagger UI for /openapi.json (api/pages/docs.html). Not an inline script: the page's
// Content-Security-Policy allows scripts from this origin only. Swagger UI itself is served
// from this process (/static/swagger-ui/, the swagger-ui-py package): nothing is fetched from
// elsewhere, and the validator badge (which would call an outside service) is off.
window.addEventListener("DOMContentLoaded", () => {
  const ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: () => {
      // Signed in to the wizard in this tab: the docs use the same token.
      const token = sessionStorage.getItem("leadimport.token");
      if (token) ui.preauthorizeApiKey("bearerAuth", token);
    },
  });
  window.ui = ui;
});
