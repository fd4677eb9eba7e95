// The upload page: sign in, pick a rule set, send files, follow each one until it is done. No framework:
// the DOM covers it. Text from the API, Cognito or S3 is untrusted and only ever set as textContent.
"use strict";

const settings = document.body.dataset;
const MAX_UPLOAD_BYTES = Number(settings.maxUploadBytes);
const DIRECT_UPLOAD_MAX_BYTES = Number(settings.directUploadMaxBytes);
const FINAL_STATUSES = new Set(["done", "failed", "rejected"]);
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const STATUS_TEXT = {
  sending: "Sending",
  awaiting_upload: "Waiting for the file to reach storage",
  pending: "Transforming",
  done: "Done",
  failed: "Failed",
  rejected: "Rejected",
  refused: "Refused",
};

let session = null; // {username, idToken, accessToken}: kept in memory only, gone with the tab

const byId = (id) => document.getElementById(id);

function showNotice(message) {
  const notice = byId("notice");
  notice.textContent = message;
  notice.hidden = !message;
}

function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// ---- Cognito: the user pool's API, called from the browser as its SDKs do ----

class SignInError extends Error {}

async function cognito(action, body) {
  let response;
  try {
    response = await fetch(settings.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new SignInError(`the sign-in service cannot be reached (${error.message})`);
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new SignInError(answer.message || answer.__type || `sign-in failed (HTTP ${response.status})`);
  }
  return answer;
}

// Resolves with what the person types into the challenge form (a new password, a one-time code).
function askChallenge(label, inputType, autocomplete) {
  const form = byId("challenge-form");
  const input = byId("challenge-answer");
  byId("challenge-label").textContent = label;
  input.type = inputType;
  input.autocomplete = autocomplete;
  input.value = "";
  byId("sign-in-form").hidden = true;
  form.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        form.hidden = true;
        resolve(input.value);
      },
      { once: true },
    );
  });
}

async function signIn(username, password) {
  let answer = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: settings.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  while (answer.ChallengeName) {
    const responses = { USERNAME: username };
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      responses.NEW_PASSWORD = await askChallenge("Choose a new password", "password", "new-password");
    } else if (answer.ChallengeName === "SOFTWARE_TOKEN_MFA") {
      responses.SOFTWARE_TOKEN_MFA_CODE = await askChallenge(
        "Code from your authenticator app",
        "text",
        "one-time-code",
      );
    } else {
      throw new SignInError(`sign-in asks for ${answer.ChallengeName}, which this page does not offer`);
    }
    answer = await cognito("RespondToAuthChallenge", {
      ChallengeName: answer.ChallengeName,
      ClientId: settings.clientId,
      Session: answer.Session,
      ChallengeResponses: responses,
    });
  }
  const tokens = answer.AuthenticationResult;
  return { username, idToken: tokens.IdToken, accessToken: tokens.AccessToken };
}

// ---- The transform API, on this page's own origin ----

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// One request with upload progress (fetch reports none); resolves with {status, text}.
function send(method, url, { headers = {}, body = null, onProgress = null } = {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    if (onProgress) {
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
    }
    request.addEventListener("load", () => resolve({ status: request.status, text: request.responseText }));
    request.addEventListener("error", () => reject(new ApiError(0, `${url.split("?")[0]} cannot be reached`)));
    request.send(body);
  });
}

async function api(method, path, { body = null, contentType = null, onProgress = null } = {}) {
  const headers = { Authorization: `Bearer ${session.idToken}` };
  if (contentType) headers["Content-Type"] = contentType;
  const answer = await send(method, path, { headers, body, onProgress });
  let json = {};
  try {
    json = JSON.parse(answer.text);
  } catch {
    json = {};
  }
  if (answer.status === 401) {
    signedOut("Your session has ended: sign in again.");
    throw new ApiError(401, "not signed in");
  }
  if (answer.status >= 400) {
    throw new ApiError(answer.status, json.message || `the API answered HTTP ${answer.status}`);
  }
  return json;
}

function query(params) {
  return new URLSearchParams(params).toString();
}

// ---- Rule sets ----

async function loadRules() {
  const fieldset = byId("rules");
  const { rules } = await api("GET", "rules");
  for (const old of fieldset.querySelectorAll(".rule")) old.remove();
  byId("rules-loading").hidden = rules.length > 0;
  byId("rules-loading").textContent = rules.length ? "" : "There are no rule sets yet.";
  rules.forEach((rule, index) => {
    const row = document.createElement("div");
    row.className = "rule";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "rule";
    input.value = rule.ruleId;
    input.id = `rule-${index}`;
    input.checked = index === 0;
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = rule.ruleId;
    const description = document.createElement("p");
    description.className = "hint";
    description.id = `rule-${index}-description`;
    description.textContent = rule.description || "";
    input.setAttribute("aria-describedby", description.id);
    row.append(input, label, description);
    fieldset.append(row);
  });
}

function chosenRule() {
  const checked = document.querySelector('input[name="rule"]:checked');
  return checked ? checked.value : null;
}

// ---- Uploads ----

function uploadRow(file) {
  const row = document.createElement("li");
  row.className = "upload";
  row.dataset.fileName = file.name;
  const name = document.createElement("span");
  name.className = "file-name";
  name.textContent = `${file.name} (${megabytes(file.size)})`;
  const progress = document.createElement("progress");
  progress.max = 100;
  progress.value = 0;
  progress.setAttribute("aria-label", `${file.name}: sent`);
  const status = document.createElement("p");
  status.className = "status";
  const download = document.createElement("a");
  download.className = "download";
  download.hidden = true;
  download.textContent = `Download ${file.name.replace(/\.xml$/i, "")}.json`;
  row.append(name, progress, status, download);
  byId("uploads").prepend(row);
  byId("uploads-section").hidden = false;
  return {
    row,
    show(state, detail = "") {
      row.dataset.status = state;
      status.textContent = detail ? `${STATUS_TEXT[state] || state}: ${detail}` : STATUS_TEXT[state] || state;
    },
    progress(fraction) {
      progress.value = Math.round(fraction * 100);
    },
    offer(url) {
      download.href = url;
      download.hidden = false;
    },
  };
}

function s3Error(text) {
  // S3 answers errors in XML; DOMParser builds an inert document and fetches nothing it names.
  const documentElement = new DOMParser().parseFromString(text, "application/xml");
  const code = documentElement.querySelector("Code");
  const message = documentElement.querySelector("Message");
  return [code && code.textContent, message && message.textContent].filter(Boolean).join(": ");
}

async function sendFile(file, rule, row) {
  const params = query({ rule, name: file.name });
  const onProgress = (fraction) => row.progress(fraction);
  if (file.size <= DIRECT_UPLOAD_MAX_BYTES) {
    const accepted = await api("POST", `upload?${params}`, { body: file, contentType: "application/xml", onProgress });
    return accepted.uploadId;
  }
  // Too large for a request through the API: straight to S3, within the presigned POST's policy.
  const issued = await api("POST", `uploads?${params}`);
  const form = new FormData();
  for (const [name, value] of Object.entries(issued.upload.fields)) form.append(name, value);
  form.append("file", file); // last: S3 ignores fields after the file
  row.show("sending", "to storage");
  const answer = await send("POST", issued.upload.url, { body: form, onProgress });
  if (answer.status >= 300) {
    throw new ApiError(answer.status, `storage refused the file (${s3Error(answer.text) || `HTTP ${answer.status}`})`);
  }
  return issued.uploadId;
}

async function follow(uploadId, row) {
  let delay = POLL_FIRST_MS;
  for (;;) {
    const upload = await api("GET", `uploads/${encodeURIComponent(uploadId)}`);
    row.show(upload.status, upload.reason || "");
    if (upload.status === "done" && upload.outputUrl) row.offer(upload.outputUrl);
    if (FINAL_STATUSES.has(upload.status)) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, POLL_MAX_MS);
  }
}

async function upload(file, rule) {
  const row = uploadRow(file);
  if (file.size > MAX_UPLOAD_BYTES) {
    row.show("refused", `${megabytes(file.size)} is over the ${megabytes(MAX_UPLOAD_BYTES)} limit`);
    return;
  }
  if (file.size === 0) {
    row.show("refused", "the file is empty");
    return;
  }
  try {
    row.show("sending");
    const uploadId = await sendFile(file, rule, row);
    row.progress(1);
    await follow(uploadId, row);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    row.show("refused", error.message);
  }
}

let pendingFiles = [];

function chooseFiles(files) {
  pendingFiles = Array.from(files);
  byId("files-hint").textContent = pendingFiles.length
    ? `${pendingFiles.length} file(s) chosen: ${pendingFiles.map((file) => file.name).join(", ")}`
    : "";
}

// ---- Signing in and out ----

function signedIn(newSession) {
  session = newSession;
  byId("sign-in-section").hidden = true;
  byId("upload-section").hidden = false;
  byId("signed-in-as").textContent = `Signed in as ${session.username}`;
  byId("signed-in-as").hidden = false;
  byId("sign-out").hidden = false;
  showNotice("");
  byId("upload-heading").focus();
  loadRules().catch((error) => showNotice(`The rule sets could not be loaded: ${error.message}`));
}

function signedOut(message) {
  session = null;
  for (const id of ["upload-section", "uploads-section", "signed-in-as", "sign-out", "challenge-form"]) {
    byId(id).hidden = true;
  }
  byId("uploads").replaceChildren();
  byId("sign-in-section").hidden = false;
  byId("sign-in-form").hidden = false;
  byId("password").value = "";
  showNotice(message);
  byId("username").focus();
}

byId("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = byId("username").value.trim();
  const password = byId("password").value;
  if (!username || !password) {
    showNotice("Enter your user name and password.");
    return;
  }
  try {
    signedIn(await signIn(username, password));
  } catch (error) {
    signedOut(`Sign-in failed: ${error.message}`);
  }
});

byId("sign-out").addEventListener("click", async () => {
  const accessToken = session && session.accessToken;
  // Revokes the session's tokens at Cognito too, not only in this tab.
  if (accessToken) await cognito("GlobalSignOut", { AccessToken: accessToken }).catch(() => {});
  signedOut("You are signed out.");
});

byId("files").addEventListener("change", (event) => chooseFiles(event.target.files));

const dropZone = byId("drop-zone");
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  chooseFiles(event.dataTransfer.files);
});

byId("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const rule = chosenRule();
  if (!rule) {
    showNotice("Choose a rule set first.");
    return;
  }
  if (!pendingFiles.length) {
    showNotice("Choose one or more XML files first.");
    byId("files").focus();
    return;
  }
  showNotice("");
  const files = pendingFiles;
  chooseFiles([]);
  byId("files").value = "";
  for (const file of files) upload(file, rule);
});

byId("upload-heading").tabIndex = -1;
byId("username").focus();
