// Inside Teams' sign-in pop-up, hand the verification code to Teams, which then
// sends the signin/verifyState invoke; in any other browser nothing happens and
// the person types the code shown on the page.
(function () {
  var el = document.getElementById("code");
  if (!el || !window.microsoftTeams) { return; }
  var code = el.getAttribute("data-code");
  window.microsoftTeams.app.initialize().then(function () {
    window.microsoftTeams.authentication.notifySuccess(code);
  }).catch(function () { /* not inside Teams: the code is typed by hand */ });
})();
