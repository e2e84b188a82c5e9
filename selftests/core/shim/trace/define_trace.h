/* SPDX-License-Identifier: GPL-2.0 */
/* Nothing to instantiate: linux/tracepoint.h made every event inline. */
