/**
 * Every menu of the app, as the logged-in user sees it.
 *
 * The walk reads the menu tree the web client loaded for this user (so it
 * follows whatever menus the app has today and whatever the user's groups
 * show), opens every action under the app's root menu the way the menu bar
 * does, switches to each of the action's views, opens the first record of
 * lists and kanbans and every notebook page of the forms it reaches.
 *
 * It stops on the first error dialog or danger notification. A JS error or a
 * failed RPC also ends the tour, through the console error Odoo's test runner
 * watches. Each screen's visible text is logged as one console line, which
 * tests/test_every_menu.py reads to find English left in the Chinese UI.
 */
import { registry } from "@web/core/registry";
import { rpcBus } from "@web/core/network/rpc";

const ROOT_MENU = "customer_tiering.customer_tiering_menu_root";
/** Prefix of the console lines test_every_menu.py reads. */
const SCREEN_LOG = "every_menu screen ";
const DONE_LOG = "every_menu done ";
/** A screen is loaded when no RPC is pending and the DOM was quiet this long. */
const QUIET_MS = 400;
const LOAD_TIMEOUT_MS = 30000;
/** Actions that leave the web client instead of showing a screen. */
const LEAVING_ACTIONS = ["ir.actions.act_url"];

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An error and its causes, with the server's message of an RPC error. */
function describe(error) {
    const messages = [];
    for (let cause = error; cause; cause = cause.cause) {
        messages.push(cause.data?.message || cause.message || String(cause));
    }
    return messages.join("\n");
}

class Walk {
    constructor(env) {
        this.env = env;
        this.menus = env.services.menu;
        this.pendingRpcs = 0;
        this.visited = [];
        this.todo = this.leaves();
        rpcBus.addEventListener("RPC:REQUEST", () => this.pendingRpcs++);
        rpcBus.addEventListener("RPC:RESPONSE", () => this.pendingRpcs--);
    }

    /** Waits until the screen has loaded, then fails on any error shown. */
    async settle(screen) {
        const start = Date.now();
        let lastChange = Date.now();
        const observer = new MutationObserver(() => (lastChange = Date.now()));
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
        try {
            while (Date.now() - lastChange < QUIET_MS || this.pendingRpcs > 0) {
                if (this.pendingRpcs > 0) {
                    lastChange = Date.now();
                }
                if (Date.now() - start > LOAD_TIMEOUT_MS) {
                    throw new Error(`${screen}: still loading after ${LOAD_TIMEOUT_MS / 1000} s`);
                }
                await sleep(50);
            }
        } finally {
            observer.disconnect();
        }
        this.failOnErrors(screen);
    }

    failOnErrors(screen) {
        const errors = [
            ...document.querySelectorAll(".o_error_dialog, .o_notification:has(.o_notification_bar.bg-danger)"),
        ];
        for (const title of document.querySelectorAll(".o_dialog .modal-title")) {
            if (/error|错误/i.test(title.textContent)) {
                errors.push(title.closest(".modal-content"));
            }
        }
        if (errors.length) {
            const text = errors.map((element) => element.innerText.replace(/\s+/g, " ").trim());
            throw new Error(`${screen}: error shown:\n${text.join("\n")}`);
        }
    }

    /** Logs the screen's visible text, each text node and label once. */
    record(screen) {
        const texts = new Set();
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            const text = node.nodeValue.replace(/\s+/g, " ").trim();
            const parent = node.parentElement;
            if (text && !parent.closest("script, style, .o_tour_pointer") && parent.checkVisibility()) {
                texts.add(text);
            }
        }
        for (const element of document.body.querySelectorAll("[placeholder], [data-tooltip], [title]")) {
            if (element.checkVisibility()) {
                for (const name of ["placeholder", "data-tooltip", "title"]) {
                    const text = (element.getAttribute(name) || "").trim();
                    if (text) {
                        texts.add(text);
                    }
                }
            }
        }
        console.log(SCREEN_LOG + JSON.stringify({ screen, texts: [...texts] }));
    }

    async click(element, screen) {
        element.click();
        await this.settle(screen);
    }

    /** The menus under the app's root that open something, with their path. */
    leaves() {
        const root = this.menus.getAll().find((menu) => menu.xmlid === ROOT_MENU);
        if (!root) {
            throw new Error(`${ROOT_MENU} is not among this user's menus`);
        }
        const leaves = [];
        const visit = (menu, path) => {
            const here = [...path, menu.name];
            if (menu.actionID) {
                leaves.push({ menu, path: here.join(" / ") });
            }
            for (const child of this.menus.getMenuAsTree(menu.id).childrenTree) {
                visit(child, here);
            }
        };
        // Not the root itself: the web client gives an app its first menu's action.
        for (const child of this.menus.getMenuAsTree(root.id).childrenTree) {
            visit(child, [root.name]);
        }
        return leaves;
    }

    names() {
        return this.todo.map(({ menu }) => menu.name);
    }

    async open(menu, path) {
        try {
            await this.menus.selectMenu(menu);
        } catch (error) {
            throw new Error(`${path}: ${describe(error)}`);
        }
        await this.settle(path);
    }

    /** The element of the action shown in the page (not in a dialog). */
    mainAction() {
        return document.querySelector(".o_action_manager")?.firstElementChild;
    }

    /** The current action's view switcher buttons, by view type. */
    viewTypes() {
        return [...document.querySelectorAll(".o_control_panel .o_switch_view")].map(
            (button) => [...button.classList].find((name) => /^o_(?!switch_view)/.test(name)).slice(2)
        );
    }

    currentView() {
        const controller = document.querySelector(".o_action_manager .o_view_controller");
        if (!controller) {
            return null;
        }
        return ["list", "kanban", "form"].find((type) => controller.classList.contains(`o_${type}_view`));
    }

    /** Opens the next menu, each of its views and their first records. */
    async next() {
        const { menu, path } = this.todo.shift();
        this.visited.push(menu.id);
        // One record's form per menu: a kanban shows the list's first record.
        this.recordOpened = false;
        if (LEAVING_ACTIONS.includes(menu.actionModel)) {
            return;
        }
        const before = this.mainAction();
        await this.open(menu, path);
        // A dialog, a notification or a client action: no views to switch to.
        const types = this.viewTypes();
        if (!types.length || document.querySelector(".o_dialog") || this.mainAction() === before) {
            await this.walkScreen(path);
            return;
        }
        for (const [index, type] of types.entries()) {
            if (index) {
                // Start again from the menu, as a user switching views would.
                await this.open(menu, path);
            }
            const button = document.querySelector(`.o_control_panel .o_switch_view.o_${type}`);
            if (!button.classList.contains("active")) {
                await this.click(button, `${path} [${type}]`);
            }
            await this.walkScreen(`${path} [${type}]`);
        }
    }

    /** Records the screen, then the first record's form of a list or kanban
     * (once per menu). */
    async walkScreen(screen) {
        const dialog = document.querySelector(".o_dialog .modal");
        if (dialog) {
            const form = dialog.querySelector(".o_form_view");
            if (form) {
                await this.walkForm(`${screen} (dialog)`, form);
            } else {
                this.record(`${screen} (dialog)`);
            }
            await this.click(dialog.querySelector(".btn-close"), screen);
            return;
        }
        this.record(screen);
        const view = this.currentView();
        if (view !== "form" && this.recordOpened) {
            return;
        }
        if (view === "form") {
            await this.walkForm(screen, document.querySelector(".o_action_manager .o_form_view"));
        } else if (view === "list") {
            await this.openFirstRow(screen);
        } else if (view === "kanban") {
            const card = document.querySelector(".o_kanban_record:not(.o_kanban_ghost)");
            if (card) {
                await this.click(card, `${screen} > first record`);
                await this.walkOpenedRecord(`${screen} > first record`);
            }
        }
    }

    async openFirstRow(screen) {
        const group = document.querySelector(".o_list_view .o_group_header");
        if (group && !document.querySelector(".o_list_view .o_data_row")) {
            await this.click(group, `${screen} > first group`);
        }
        const row = document.querySelector(".o_list_view .o_data_row");
        if (!row) {
            return;
        }
        // A plain cell: buttons, links and toggles in a row do things.
        const cell = [...row.querySelectorAll("td.o_data_cell")].find(
            (td) => !td.querySelector("button, a, input, .o_field_boolean_toggle")
        );
        if (!cell) {
            return;
        }
        await this.click(cell, `${screen} > first record`);
        await this.walkOpenedRecord(`${screen} > first record`);
    }

    /** After clicking a record: its form (in the page or a dialog), or the row edited in place. */
    async walkOpenedRecord(screen) {
        this.recordOpened = true;
        const dialogForm = document.querySelector(".o_dialog .o_form_view");
        if (dialogForm) {
            await this.walkForm(screen, dialogForm);
            await this.click(dialogForm.closest(".modal").querySelector(".btn-close"), screen);
        } else if (this.currentView() === "form") {
            await this.walkForm(screen, document.querySelector(".o_action_manager .o_form_view"));
        } else {
            this.record(screen);
            const discard = document.querySelector(".o_list_button_discard");
            if (discard) {
                await this.click(discard, screen);
            }
        }
    }

    /** Every page of the form's own notebooks (not of its one2many forms). */
    async walkForm(screen, form) {
        this.record(screen);
        const tabs = [...form.querySelectorAll(".o_notebook_headers .nav-link")].filter(
            (tab) => tab.closest(".o_form_view") === form && tab.checkVisibility()
        );
        for (const tab of tabs) {
            const page = `${screen} > ${tab.innerText.trim()}`;
            await this.click(tab, page);
            this.record(page);
        }
    }
}

/** More menus than the tour has steps for fails the tour: raise it then. */
const MAX_MENUS = 80;
let walk = null;

/**
 * A tour step may last a minute at most: one step per menu, the menus
 * being read when the first step runs; steps beyond the last menu do nothing.
 */
registry.category("web_tour.tours").add("customer_tiering_every_menu", {
    steps: () => [
        {
            content: "Read the app's menus as this user sees them",
            trigger: ".o_main_navbar",
            run: () => {
                walk = new Walk(odoo.__WOWL_DEBUG__.root.env);
                // Menus in dropdowns show their names only when open.
                console.log(SCREEN_LOG + JSON.stringify({ screen: "menus", texts: walk.names() }));
                if (walk.todo.length > MAX_MENUS) {
                    throw new Error(`${walk.todo.length} menus: raise MAX_MENUS in every_menu_tour.js`);
                }
            },
        },
        ...Array.from({ length: MAX_MENUS }, (_value, index) => ({
            content: `Open menu ${index + 1}: its views, first record and form pages`,
            trigger: "body",
            timeout: 60000,
            run: async () => {
                if (walk.todo.length) {
                    await walk.next();
                }
            },
        })),
        {
            content: "Every menu was opened",
            trigger: "body",
            run: () => console.log(DONE_LOG + JSON.stringify({ visited: walk.visited })),
        },
    ],
});
