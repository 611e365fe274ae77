/** The floor benchmark's only activity: nothing, answered at once. */
export interface FloorActivities {
  noop(): Promise<void>;
}

export const floorActivities: FloorActivities = {
  async noop() {},
};
