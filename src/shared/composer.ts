/**
 * What the composer sends: the socket types and modes it offers and one frame
 * as the user typed it. Shared by the frames viewer's page, its protocol and
 * the core sender, so the three agree on one list.
 */
export const SEND_SOCKET_TYPES = ['PUB', 'PUSH', 'REQ', 'DEALER', 'PAIR'] as const;
export type SendSocketType = (typeof SEND_SOCKET_TYPES)[number];
export const SEND_MODES = ['connect', 'bind'] as const;
export type SendMode = (typeof SEND_MODES)[number];
export const FRAME_FORMATS = ['text', 'hex', 'json'] as const;
export type FrameFormat = (typeof FRAME_FORMATS)[number];

export interface ComposerFrame {
  format: FrameFormat;
  value: string;
}
