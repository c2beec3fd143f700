/* Autosave of the Convergence answers: each criterion's form is posted to its JSON endpoint (data-autosave-url)
   shortly after a change, with the revision it was read at. The status line (an aria-live region) says
   « Enregistré à 14:32 », or the conflict when another member saved the answer in between: the form then shows
   that member's answer and comment with the revision the server returned (a later save knowingly replaces it),
   and a button puts the editor's own answer back and saves it. Without JavaScript, the forms post to the page
   itself. */
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) {
    return;
  }
  var DELAY = 800;

  function progress(id, data) {
    var bar = document.getElementById(id);
    var text = document.querySelector('[data-progress-text="' + id + '"]');
    if (!bar || !data) {
      return;
    }
    bar.value = data.percent;
    bar.textContent = data.percent + " %";
    if (text) {
      text.textContent = data.answered + " critère(s) renseigné(s) sur " + data.total + " (" + data.percent + " %)";
    }
  }

  function setup(form) {
    var url = form.getAttribute("data-autosave-url");
    var status = form.querySelector("[data-status]");
    var revision = form.querySelector("[data-revision]");
    var timer = null;
    var running = false;
    var again = false;

    function say(text, state) {
      status.setAttribute("data-state", state);
      status.textContent = text;
    }

    function save() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      say("Enregistrement…", "saving");
      fetch(url, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: {"Accept": "application/json", "X-Requested-With": "fetch"}
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return {code: response.status, data: data};
          });
        })
        .then(function (result) {
          var data = result.data;
          if (result.code === 200) {
            revision.value = data.revision;
            say(data.message, "saved");
            progress("questionnaire-progress", data.questionnaire_progress);
            progress("product-progress", data.product_progress);
          } else if (result.code === 409) {
            conflict(data);
          } else {
            say(data.message || "Erreur : la réponse n’a pas été enregistrée.", "error");
          }
        })
        .catch(function () {
          say("Erreur : la réponse n’a pas été enregistrée (connexion interrompue). Réessayez.", "error");
        })
        .then(function () {
          running = false;
          if (again) {
            again = false;
            save();
          }
        });
    }

    // The answer as the form holds it: its value, what the editor sees of it (a radio's or an option's label),
    // and the comment.
    function answerRead() {
      var value = "";
      var label = "";
      var fields = form.querySelectorAll("[name=value]");
      for (var i = 0; i < fields.length; i += 1) {
        var field = fields[i];
        if (field.type === "radio") {
          if (field.checked) {
            var radioLabel = form.querySelector('label[for="' + field.id + '"]');
            value = field.value;
            label = radioLabel ? radioLabel.textContent.trim() : field.value;
          }
        } else if (field.tagName === "SELECT") {
          value = field.value;
          label = field.selectedIndex >= 0 && value ? field.options[field.selectedIndex].textContent.trim() : "";
        } else {
          value = field.value;
          label = field.value.trim();
        }
      }
      var comment = form.querySelector("[name=comment]");
      return {value: value, label: label, comment: comment ? comment.value : ""};
    }

    // Rewrites the form's fields without firing their events: nothing is saved until the editor acts.
    function answerWrite(value, comment) {
      var fields = form.querySelectorAll("[name=value]");
      for (var i = 0; i < fields.length; i += 1) {
        if (fields[i].type === "radio") {
          fields[i].checked = fields[i].value === value;
        } else {
          fields[i].value = value;
        }
      }
      var field = form.querySelector("[name=comment]");
      if (field) {
        field.value = comment;
      }
    }

    function quoted(text) {
      var short = text.length > 80 ? text.slice(0, 79) + "…" : text;
      return "« " + short + " »";
    }

    function conflict(data) {
      var current = data.current || {};
      var mine = answerRead();
      // Another save queued behind this one would write the other member's answer back as the editor's own.
      window.clearTimeout(timer);
      again = false;
      answerWrite(current.value || "", current.comment || "");
      revision.value = current.revision;
      var who = data.author ? data.author + " a modifié" : "Une autre personne a modifié";
      var mineText = mine.label ? quoted(mine.label) : "réponse effacée";
      if (mine.comment.trim()) {
        mineText += ", commentaire " + quoted(mine.comment.trim());
      }
      say("Conflit : " + who + " cette réponse" + (data.when ? " " + data.when : "") +
        " pendant votre saisie : sa version est affichée. Votre saisie (" + mineText +
        ") n’a pas été enregistrée.", "conflict");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "fr-btn fr-btn--sm fr-btn--secondary fr-ml-1w";
      button.textContent = "Appliquer ma réponse à la place";
      button.addEventListener("click", function () {
        answerWrite(mine.value, mine.comment);
        button.remove();
        save();
      });
      status.appendChild(document.createTextNode(" "));
      status.appendChild(button);
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(save, DELAY);
    }

    form.addEventListener("change", schedule);
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA" || event.target.type === "text") {
        schedule();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      save();
    });
  }

  var forms = document.querySelectorAll("form[data-autosave-url]");
  for (var i = 0; i < forms.length; i += 1) {
    setup(forms[i]);
  }
})();
