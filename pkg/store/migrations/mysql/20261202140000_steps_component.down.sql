ALTER TABLE steps DROP KEY steps_component
