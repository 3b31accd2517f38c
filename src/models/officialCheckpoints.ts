// The released checkpoints the reference uses (SAM from Meta, CLIP from OpenAI): where they are published and their
// sha256, so that fetch can verify them and a run can say whether it used them.
export interface CheckpointSource { file: string; url: string; sha256: string; bytes?: number }

export type SamType = 'vit_h' | 'vit_l' | 'vit_b';

/** The reference's SAM (`sam_vit_h_4b8939.pth`): what `models fetch` gets unless asked for a smaller one. */
export const DEFAULT_SAM_TYPE: SamType = 'vit_h';

/** The publishers' URLs. CLIP's sha256 is the one in its URL (clip.py checks it so); Meta publishes none for SAM:
 *  these are the files' sha256s as widely recorded for the released files. */
export const OFFICIAL: Record<SamType | 'clip', CheckpointSource> = {
  vit_h: { file: 'sam_vit_h_4b8939.pth', url: 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth',
    sha256: 'a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e', bytes: 2564550879 },
  vit_l: { file: 'sam_vit_l_0b3195.pth', url: 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth',
    sha256: '3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622' },
  vit_b: { file: 'sam_vit_b_01ec64.pth', url: 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth',
    sha256: 'ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912' },
  clip: { file: 'ViT-B-16.pt',
    url: 'https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt',
    sha256: '5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f' },
};
