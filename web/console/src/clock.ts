/** Announced (on window) when the local cloud's virtual clock was moved, so what shows the time reads it again. */
export const CLOCK_MOVED = "cxm:clock-moved";
