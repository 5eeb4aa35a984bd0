// after logging in, come back to the page that asked for the token
"use strict";
document.getElementById("next").value = location.pathname;
