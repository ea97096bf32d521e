// Progressive enhancement of the workspace (MoJ Frontend: sortable tables); every page works without it.
import { initAll } from "./govuk/moj-frontend.min.js";

initAll();
